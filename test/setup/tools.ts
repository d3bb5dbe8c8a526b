import { fileURLToPath } from 'node:url'
import { BinariesNotFoundError } from '../cluster/errors.js'
import { parseExports, runToolScript } from '../cluster/binaries.js'

/**
 * A script that builds test tools once into the cache (under a second when they are there, and
 * waiting on its lock while another run, such as .ci/run's background job, builds them) and
 * prints where they are: `export MEGANET_…=path` lines, or one bare path for `pathVar`.
 */
export interface ToolScript {
  /** Relative to the repository root. */
  readonly path: string
  readonly args?: readonly string[]
  /** The variable a script that prints a bare path fills. */
  readonly pathVar?: string
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

async function runScript (script: ToolScript): Promise<Record<string, string>> {
  const path = `${ROOT}${script.path}`
  const stdout = await runToolScript(path, script.args)
  if (script.pathVar == null) return parseExports(stdout)
  const printed = stdout.trim()
  if (printed === '') throw new BinariesNotFoundError(`${path} printed no path for ${script.pathVar}`)
  return { [script.pathVar]: printed }
}

/**
 * Runs the scripts side by side and puts what they print into this process's environment, which
 * the test workers (forked after global setup) inherit. A MEGANET_… variable that is already set
 * wins: each script honours it too.
 */
export async function provideTools (scripts: readonly ToolScript[]): Promise<void> {
  const results = await Promise.allSettled(scripts.map(runScript))
  const failed = results.flatMap(r => r.status === 'rejected' ? [r.reason as unknown] : [])
  if (failed.length > 0) throw new AggregateError(failed, failed.map(e => e instanceof Error ? e.message : String(e)).join('; '))
  for (const result of results) {
    if (result.status !== 'fulfilled') continue
    for (const [name, value] of Object.entries(result.value)) {
      if (process.env[name] == null || process.env[name] === '') process.env[name] = value
    }
  }
}
