import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { OperatorMetrics } from '../../operator/src/operator-metrics.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { UnknownFunctionError, exposedFamilies, isExported, metricNamesIn, substituteGrafanaVariables, variableQueryExpr } from './promql-names.js'

const DASHBOARDS_DIR = fileURLToPath(new URL('../../dashboards/', import.meta.url))
const RULES_FILE = join(DASHBOARDS_DIR, 'alerts', 'meganet.rules.yaml')
const RULES_TEST_FILE = join(DASHBOARDS_DIR, 'alerts', 'meganet.rules.test.yaml')
const EXPECTED_DASHBOARDS = { 'fleet-overview.json': 'meganet-fleet-overview', 'anchor-detail.json': 'meganet-anchor-detail', 'operator.json': 'meganet-operator' }
const DATASOURCE = '${datasource}'
/** Series Prometheus adds itself for every target. */
const PROMETHEUS_SERIES = ['up']
const SEVERITIES = ['critical', 'warning', 'info']

interface DatasourceRef { type?: string, uid?: string }
interface Target { refId?: string, expr?: string, datasource?: DatasourceRef }
interface Panel {
  id?: number
  type: string
  title?: string
  datasource?: DatasourceRef
  targets?: Target[]
  panels?: Panel[]
  fieldConfig?: { defaults?: { unit?: string } }
}
interface Variable { name: string, type: string, query?: string | { query?: string }, datasource?: DatasourceRef }
interface Dashboard {
  id?: number | null
  uid?: string
  title?: string
  schemaVersion?: number
  __inputs?: unknown
  templating?: { list?: Variable[] }
  panels?: Panel[]
}
interface Rule { alert?: string, record?: string, expr: string, labels?: Record<string, string>, annotations?: Record<string, string> }
interface RulesFile { groups: Array<{ name: string, rules: Rule[] }> }
interface RulesTestFile { tests: Array<{ input_series?: Array<{ series: string }> }> }

/** A PromQL expression and where it is used, for failure messages. */
interface Expression { where: string, expr: string }

function allPanels (panels: readonly Panel[] = []): Panel[] {
  return panels.flatMap(panel => [panel, ...allPanels(panel.panels)])
}

function variableQuery (variable: Variable): string {
  return typeof variable.query === 'string' ? variable.query : variable.query?.query ?? ''
}

async function loadDashboards (): Promise<Map<string, Dashboard>> {
  const files = (await readdir(DASHBOARDS_DIR)).filter(file => file.endsWith('.json')).sort()
  const dashboards = new Map<string, Dashboard>()
  for (const file of files) dashboards.set(file, JSON.parse(await readFile(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard)
  return dashboards
}

function dashboardExpressions (file: string, dashboard: Dashboard): Expression[] {
  const panels = allPanels(dashboard.panels).flatMap(panel => (panel.targets ?? [])
    .filter(target => target.expr != null)
    .map(target => ({ where: `${file} panel "${panel.title ?? panel.id}" ${target.refId ?? ''}`, expr: target.expr ?? '' })))
  const variables = (dashboard.templating?.list ?? []).filter(v => v.type === 'query').flatMap(variable => {
    const expr = variableQueryExpr(variableQuery(variable))
    return expr == null ? [] : [{ where: `${file} variable $${variable.name}`, expr }]
  })
  return [...panels, ...variables]
}

async function loadRules (): Promise<RulesFile> {
  return parse(await readFile(RULES_FILE, 'utf8')) as RulesFile
}

function ruleExpressions (rules: RulesFile): Expression[] {
  return rules.groups.flatMap(group => group.rules.map(rule => ({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr })))
}

async function ruleTestSeries (): Promise<Expression[]> {
  const tests = parse(await readFile(RULES_TEST_FILE, 'utf8')) as RulesTestFile
  return tests.tests.flatMap(test => (test.input_series ?? []).map(input => ({ where: `rule test series ${input.series}`, expr: input.series })))
}

async function promtool (args: string[]): Promise<{ code: number, output: string }> {
  return await new Promise(resolve => {
    execFile('promtool', args, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof err.code === 'number' ? err.code : 1, output: `${stdout}${stderr}` })
    })
  })
}

const hasPromtool = spawnSync('promtool', ['--version']).error == null
if (!hasPromtool) {
  if (process.env.CI === 'true') throw new Error('promtool not found in CI: .ci/run installs Debian\'s prometheus package')
  console.warn('skipping the promtool checks: promtool not found (Debian package prometheus; .ci/run installs it)')
}

describe('Grafana dashboards', async () => {
  const dashboards = await loadDashboards()

  it('are the expected ones, each with its own fixed uid', () => {
    for (const [file, uid] of Object.entries(EXPECTED_DASHBOARDS)) expect(dashboards.get(file)?.uid, file).toBe(uid)
    const uids = [...dashboards.values()].map(d => d.uid)
    expect(new Set(uids).size).toBe(uids.length)
    for (const [file, dashboard] of dashboards) expect(dashboard.uid, file).toMatch(/^meganet-[a-z0-9-]+$/)
  })

  for (const [file, dashboard] of dashboards) {
    describe(file, () => {
      it('imports anywhere: no __inputs, no numeric id, no DS_ placeholders, a recent schema', async () => {
        expect(dashboard).not.toHaveProperty('__inputs')
        expect(dashboard.id ?? null).toBeNull()
        expect(await readFile(join(DASHBOARDS_DIR, file), 'utf8')).not.toMatch(/\$\{DS_/)
        expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
        expect(dashboard.title).toMatch(/^MegaNet \//)
      })

      it('has a Prometheus datasource variable that every panel, target and query variable uses', () => {
        const variables = dashboard.templating?.list ?? []
        expect(variables.find(v => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
        for (const variable of variables.filter(v => v.type === 'query')) {
          expect(variable.datasource, `variable ${variable.name}`).toEqual({ type: 'prometheus', uid: DATASOURCE })
        }
        const queried = allPanels(dashboard.panels).filter(panel => panel.type !== 'row')
        expect(queried.length).toBeGreaterThan(0)
        for (const panel of queried) {
          expect(panel.datasource, `panel ${panel.title}`).toEqual({ type: 'prometheus', uid: DATASOURCE })
          expect(panel.targets?.length, `panel ${panel.title} has queries`).toBeGreaterThan(0)
          for (const target of panel.targets ?? []) {
            expect(target.datasource, `panel ${panel.title} ${target.refId}`).toEqual({ type: 'prometheus', uid: DATASOURCE })
            expect(target.expr, `panel ${panel.title} ${target.refId}`).toMatch(/\S/)
          }
        }
      })

      it('has unique panel ids and a unit on every panel', () => {
        const panels = allPanels(dashboard.panels)
        const ids = panels.map(panel => panel.id)
        expect(ids.every(id => typeof id === 'number')).toBe(true)
        expect(new Set(ids).size).toBe(ids.length)
        for (const panel of panels.filter(p => p.type !== 'row')) expect(panel.fieldConfig?.defaults?.unit, `panel ${panel.title}`).toMatch(/\S/)
      })
    })
  }

  it.runIf(hasPromtool)('have PromQL that Prometheus parses', async () => {
    const expressions = [...dashboards].flatMap(([file, dashboard]) => dashboardExpressions(file, dashboard))
    const dir = await mkdtemp(join(tmpdir(), 'meganet-dashboards-'))
    try {
      const rules = { groups: [{ name: 'dashboards', rules: expressions.map((e, i) => ({ record: `dashboard:expr_${i}`, expr: substituteGrafanaVariables(e.expr) })) }] }
      const file = join(dir, 'dashboards.rules.json')
      await writeFile(file, JSON.stringify(rules))
      const result = await promtool(['check', 'rules', file])
      expect(result.output).toContain(`SUCCESS: ${expressions.length} rules found`)
      expect(result.code).toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

/** Grafana's dashboard-linter: $MEGANET_DASHBOARD_LINTER, else built (once, cached) by test/tools/install-dashboard-linter.sh. */
function findDashboardLinter (): string | undefined {
  if (process.env.MEGANET_DASHBOARD_LINTER != null && process.env.MEGANET_DASHBOARD_LINTER !== '') return process.env.MEGANET_DASHBOARD_LINTER
  const built = spawnSync('bash', [fileURLToPath(new URL('../tools/install-dashboard-linter.sh', import.meta.url))], { encoding: 'utf8' })
  return built.status === 0 ? built.stdout.trim() : undefined
}
const dashboardLinter = findDashboardLinter()

describe('dashboard-linter', () => {
  it.skipIf(dashboardLinter == null)('finds nothing in any dashboard with --strict (needs Go to build it once: test/tools/install-dashboard-linter.sh)', () => {
    for (const file of Object.keys(EXPECTED_DASHBOARDS)) {
      const result = spawnSync(dashboardLinter ?? '', ['lint', '--strict', join(DASHBOARDS_DIR, file)], { encoding: 'utf8' })
      // It prints each rule's description as it runs; findings are the lines marked ❌ (error) or ⚠ (warning).
      const findings = `${result.stdout}${result.stderr}`.split('\n').filter(line => /❌|⚠/.test(line))
      expect(findings, file).toEqual([])
      expect(result.status, file).toBe(0)
    }
  })
})

describe('alert rules', () => {
  it.runIf(hasPromtool)('pass promtool check rules', async () => {
    const result = await promtool(['check', 'rules', RULES_FILE])
    expect(result.output).toContain('SUCCESS')
    expect(result.code, result.output).toBe(0)
  })

  it.runIf(hasPromtool)('fire as their promtool unit tests expect', async () => {
    const result = await promtool(['test', 'rules', RULES_TEST_FILE])
    expect(result.code, result.output).toBe(0)
  })

  it('select on job, and link a runbook section of docs/runbooks.md from every alert, with absent() alerts for anchors and the operator', async () => {
    const rules = (await loadRules()).groups.flatMap(group => group.rules)
    const runbooks = await readFile(fileURLToPath(new URL('../../docs/runbooks.md', import.meta.url)), 'utf8')
    for (const rule of rules) {
      expect(rule.expr, `${rule.alert} expr`).toMatch(/job="meganet-(anchor|operator)"/)
      expect(rule.annotations?.runbook_url, `${rule.alert} runbook_url`).toBe(`https://github.com/meganet/meganet/blob/main/docs/runbooks.md#${String(rule.alert).toLowerCase()}`)
      expect(runbooks, `docs/runbooks.md section for ${rule.alert}`).toContain(`\n## ${String(rule.alert)}\n`)
    }
    expect(rules.find(r => r.alert === 'AnchorsAbsent')?.expr).toBe('absent(up{job="meganet-anchor"} == 1)')
    expect(rules.find(r => r.alert === 'OperatorAbsent')?.expr).toBe('absent(up{job="meganet-operator"} == 1)')
  })

  it('cover the issue\'s alerts, each with a severity, a summary and a description', async () => {
    const rules = (await loadRules()).groups.flatMap(group => group.rules)
    const alerts = rules.map(rule => rule.alert)
    for (const alert of ['AnchorDown', 'UnderReplicatedBlocks', 'RelayNearCapacity', 'OperatorReconcileErrors', 'NATSDisconnected']) expect(alerts).toContain(alert)
    expect(new Set(alerts).size).toBe(alerts.length)
    for (const rule of rules) {
      expect(SEVERITIES, `${rule.alert} severity`).toContain(rule.labels?.severity)
      expect(rule.annotations?.summary, `${rule.alert} summary`).toMatch(/\S/)
      expect(rule.annotations?.description, `${rule.alert} description`).toMatch(/\S/)
    }
  })
})

describe('PromQL metric names', () => {
  it('are found past functions, matchers, strings, ranges and grouping labels', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{pod=~"$pod"}[$__rate_interval])))')).toEqual(['a_seconds_bucket'])
    expect(metricNamesIn('label_replace(up{pod=~"${fleet}-anchor-[0-9]+"}, "fleet", "$1", "pod", "(.+)-anchor-[0-9]+")')).toEqual(['up'])
    expect(metricNamesIn('sum by (namespace, pod) (a) / on (namespace, pod) group_left (x) b > 0.9')).toEqual(['a', 'b'])
    expect(metricNamesIn('count(c == 0) or vector(0) and d offset 5m unless e * 1e3')).toEqual(['c', 'd', 'e'])
    expect(metricNamesIn('max(x) without (le) == bool 0')).toEqual(['x'])
    expect(metricNamesIn('f and on (pod) (g == 1) or (h)')).toEqual(['f', 'g', 'h'])
    expect(() => metricNamesIn('rat(x[5m])')).toThrow(UnknownFunctionError)
  })

  it('are read from Grafana variable queries', () => {
    expect(variableQueryExpr('label_values(meganet_build_info{namespace=~"$namespace"}, pod)')).toBe('meganet_build_info{namespace=~"$namespace"}')
    expect(variableQueryExpr('label_values(namespace)')).toBeUndefined()
  })

  it('map histogram and summary series to their family', () => {
    const families = new Map([['h_seconds', 'histogram'], ['s', 'summary'], ['g', 'gauge']])
    expect(['h_seconds_bucket', 'h_seconds_sum', 'h_seconds_count', 's_sum', 's_count', 'g'].every(n => isExported(n, families))).toBe(true)
    expect(['s_bucket', 'g_sum', 'h_seconds_total'].some(n => isExported(n, families))).toBe(false)
  })
})

describe('every metric a dashboard or rule uses', () => {
  let nats: TestNats | undefined
  let anchor: AnchorProcess | undefined
  const families = new Map<string, string>()

  beforeAll(async () => {
    nats = await TestNats.start()
    anchor = await AnchorProcess.start({ flags: { 'nats-servers': nats.url } })
    const running = anchor
    // Coordination metrics once NATS is connected; storage ones come with the default storage role.
    const exposition = await eventually(async () => {
      const text = await running.metrics()
      return text.includes('\nmeganet_coordination_connected 1') && text.includes('# TYPE meganet_storage_stored_bytes ') ? text : undefined
    }, 20_000, 'an anchor connected to NATS exporting storage metrics')
    for (const [name, type] of exposedFamilies(exposition)) families.set(name, type)
    // prom-client types `type` as a numeric enum, but it holds the string ('histogram', ...).
    for (const metric of await new OperatorMetrics().registry.getMetricsAsJSON()) families.set(metric.name, String(metric.type))
    for (const name of PROMETHEUS_SERIES) families.set(name, 'gauge')
  })

  afterAll(async () => {
    await anchor?.cleanup()
    await nats?.cleanup()
  })

  it('is exported by an anchor, the operator or Prometheus', async () => {
    const dashboards = await loadDashboards()
    const expressions = [
      ...[...dashboards].flatMap(([file, dashboard]) => dashboardExpressions(file, dashboard)),
      ...ruleExpressions(await loadRules()),
      ...await ruleTestSeries()
    ]
    const used = new Map<string, string[]>()
    for (const { where, expr } of expressions) {
      for (const name of metricNamesIn(expr)) used.set(name, [...used.get(name) ?? [], where])
    }
    const missing = [...used].filter(([name]) => !isExported(name, families)).map(([name, where]) => `${name} (used by ${where.join('; ')})`)
    expect(missing, 'metrics nothing exports').toEqual([])
    // The scrape really happened: our own families and the coordination ones are in it.
    expect(families.get('meganet_relay_reservations')).toBe('gauge')
    expect(families.get('meganet_coordination_connected')).toBe('gauge')
    expect(families.get('meganet_operator_reconcile_duration_seconds')).toBe('histogram')
    console.log(`dashboards and rules use ${used.size} metric names in ${expressions.length} expressions, all exported`)
  })
})
