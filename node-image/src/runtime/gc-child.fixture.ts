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
  readonly args: readonly string[]
  readonly nodeFlags?: readonly string[]
}

/** Runs a script in a fresh Node process, so that V8's collector starts from nothing, and parses what it prints. */
export async function runGcChild<T> (init: GcChildInit): Promise<T> {
  const { stdout } = await run(process.execPath, [...init.nodeFlags ?? [], '-e', COUNT_MARK_COMPACTS + init.script, ...init.args])
  return JSON.parse(stdout) as T
}
