import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

/**
 * Allocates 1 GiB of 64 KiB buffers in a fresh process, a few alive at a time and the event
 * loop turning as in a transfer, and prints how many mark-compacts V8 ran meanwhile.
 */
const COUNT_MARK_COMPACTS = `
const { PerformanceObserver, constants } = require('node:perf_hooks')
let majors = 0
new PerformanceObserver(list => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++ }).observe({ entryTypes: ['gc'] })
const main = async () => {
  if (process.argv[1] === 'tuned') (await import(process.argv[2])).tuneGarbageCollection()
  const alive = []
  for (let i = 0; i < 16384; i++) {
    alive.push(Buffer.allocUnsafe(65536))
    if (alive.length > 16) alive.shift()
    if (i % 64 === 0) await new Promise(resolve => setImmediate(resolve))
  }
  setImmediate(() => { process.stdout.write(String(majors)); process.exit(0) })
}
void main()
`

async function markCompacts (mode: 'stock' | 'tuned'): Promise<number> {
  const { stdout, stderr } = await run(process.execPath, ['-e', COUNT_MARK_COMPACTS, mode, new URL('./gc-tuning.ts', import.meta.url).href], { env: { ...process.env, NODE_OPTIONS: '--experimental-strip-types' } })
  expect(stderr).not.toMatch(/unrecognized flag/)
  return Number(stdout)
}

describe('tuneGarbageCollection', () => {
  it('lets scavenges free short-lived buffers instead of a mark-compact per 64 MiB of them', async () => {
    const [stock, tuned] = await Promise.all([markCompacts('stock'), markCompacts('tuned')])
    expect(stock).toBeGreaterThanOrEqual(8)
    expect(tuned).toBeLessThanOrEqual(2)
  })
})
