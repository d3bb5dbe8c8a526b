import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseExports } from '../cluster/binaries.js'

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

export class ToolScriptError extends Error {
  constructor (readonly script: string, readonly code: number | null) {
    super(`${script} failed with exit code ${code ?? 'none (killed)'}: its output is above; run it alone to retry`)
    this.name = 'ToolScriptError'
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

async function runScript (script: ToolScript): Promise<Record<string, string>> {
  const child = spawn('bash', [script.path, ...(script.args ?? [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new ToolScriptError(script.path, code)
  if (script.pathVar == null) return parseExports(stdout)
  const path = stdout.trim()
  if (path === '') throw new ToolScriptError(script.path, code)
  return { [script.pathVar]: path }
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
