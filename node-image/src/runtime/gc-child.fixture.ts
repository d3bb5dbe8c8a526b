import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The start of every child's script: counts V8's mark-compacts in `majors` while `counting` is true. */
const COUNT_MARK_COMPACTS = `
const { PerformanceObserver, constants } = require('node:perf_hooks')
let majors = 0
let counting = false
new PerformanceObserver(list => { for (const e of list.getEntries()) if (counting && e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++ }).observe({ entryTypes: ['gc'] })
`

export interface GcChildInit {
  /** The rest of the script: sets `counting`, reads `majors`, and prints one JSON object. */
  readonly script: string
  /** The script's `process.argv.slice(1)`. */
  readonly args: readonly string[]
  /** Node's own flags, before `-e` (none by default). */
  readonly nodeFlags?: readonly string[]
}

/** Longer than any of these children takes on a loaded machine, shorter than vitest's test timeout. */
const CHILD_TIMEOUT_MS = 50_000

/** Runs a script in a fresh Node process, so that V8's collector starts from nothing, and parses what it prints. */
export async function runGcChild<T> (init: GcChildInit): Promise<T> {
  const { stdout, stderr } = await run(process.execPath, [...init.nodeFlags ?? [], '-e', COUNT_MARK_COMPACTS + init.script, ...init.args], { timeout: CHILD_TIMEOUT_MS })
  try {
    return JSON.parse(stdout) as T
  } catch {
    throw new Error(`the GC child printed no JSON: stdout ${JSON.stringify(stdout.slice(0, 200))}, stderr ${JSON.stringify(stderr.slice(0, 500))}`)
  }
}
