/** Metric names in PromQL and in a Prometheus exposition, for checking dashboards and rules. */

/** PromQL functions and aggregation operators: identifiers followed by `(`. */
export const PROMQL_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregation operators
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  // functions
  'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'day_of_month',
  'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_avg', 'histogram_count',
  'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum',
  'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'ln', 'log2', 'log10',
  'minute', 'month', 'predict_linear', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt',
  'time', 'timestamp', 'vector', 'year', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time',
  'count_over_time', 'quantile_over_time', 'stddev_over_time', 'stdvar_over_time', 'last_over_time',
  'present_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'cos', 'cosh', 'sin', 'sinh', 'tan',
  'tanh', 'deg', 'rad', 'pi'
])

/** Keywords that stand alone (grouping modifiers are removed with their label lists first). */
const PROMQL_KEYWORDS: ReadonlySet<string> = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'atan2',
  'inf', 'nan', 'le'
])

const GRAFANA_INTERVALS: Readonly<Record<string, string>> = { __rate_interval: '5m', __interval: '1m', __range: '1h' }

/**
 * Replaces Grafana template variables with something PromQL parses: intervals with durations,
 * other variables (used in label matchers) with `.+`. Regex group references like `$1` stay.
 */
export function substituteGrafanaVariables (expr: string): string {
  return expr.replace(/\$\{([a-zA-Z_]\w*)(?::\w+)?\}|\$([a-zA-Z_]\w*)/g, (_match, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? ''
    return GRAFANA_INTERVALS[name] ?? '.+'
  })
}

export class UnknownFunctionError extends Error {
  constructor (readonly fn: string, readonly expr: string) {
    super(`unknown PromQL function ${fn}() in ${expr}`)
    this.name = 'UnknownFunctionError'
  }
}

/**
 * The metric names an expression selects. Strings, label matchers, ranges and grouping label
 * lists are removed first; an identifier followed by `(` must be a known function.
 */
export function metricNamesIn (expr: string): string[] {
  const stripped = substituteGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const match of stripped.matchAll(/\d[\w.]*|[a-zA-Z_:][\w:]*/g)) {
    const token = match[0]
    if (/^\d/.test(token) || PROMQL_KEYWORDS.has(token)) continue
    const next = stripped.slice(match.index + token.length).trimStart()[0]
    if (next === '(') {
      if (!PROMQL_FUNCTIONS.has(token)) throw new UnknownFunctionError(token, expr)
      continue
    }
    names.add(token)
  }
  return [...names]
}

/**
 * The PromQL inside a Grafana Prometheus variable query: `label_values(expr, label)` and
 * `query_result(expr)` hold one, `label_values(label)` and `label_names()` none.
 */
export function variableQueryExpr (query: string): string | undefined {
  const trimmed = query.trim()
  const labelValues = /^label_values\((.*),\s*[a-zA-Z_]\w*\s*\)$/s.exec(trimmed)
  if (labelValues != null) return labelValues[1]
  const queryResult = /^query_result\((.*)\)$/s.exec(trimmed)
  if (queryResult != null) return queryResult[1]
  if (/^(?:label_values\(\s*[a-zA-Z_]\w*\s*\)|label_names\(\s*\))$/.test(trimmed)) return undefined
  throw new Error(`unsupported Grafana variable query: ${query}`)
}

/** Metric families of an exposition (`# TYPE` lines, plus any sample without one), by type. */
export function exposedFamilies (exposition: string): Map<string, string> {
  const families = new Map<string, string>()
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line)
    if (type != null) {
      families.set(type[1] ?? '', type[2] ?? 'untyped')
      continue
    }
    const sample = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line)
    if (sample?.[1] != null && !families.has(sample[1])) families.set(sample[1], 'untyped')
  }
  return families
}

const SERIES_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count']
}

/** Whether `name` is a series of one of `families`: the family itself or a histogram/summary part. */
export function isExported (name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue
    const type = families.get(name.slice(0, -suffix.length))
    if (type != null && (SERIES_SUFFIXES[type] ?? []).includes(suffix)) return true
  }
  return false
}
