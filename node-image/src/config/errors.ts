/** One wrong setting: which field, where it came from, what is allowed. */
export interface ConfigProblem {
  readonly field: string
  readonly source: string
  readonly message: string
}

/** The configuration cannot be used; `problems` names every wrong field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly problems: readonly ConfigProblem[]

  constructor (problems: readonly ConfigProblem[], options?: ErrorOptions) {
    super(`invalid configuration:\n${problems.map(p => `  - ${p.field} (${p.source}): ${p.message}`).join('\n')}`, options)
    this.problems = problems
  }
}

export function isConfigError (err: unknown): err is ConfigError {
  return err instanceof ConfigError
}
