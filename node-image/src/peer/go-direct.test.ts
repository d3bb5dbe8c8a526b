import { describe, expect, it } from 'vitest'
import { tryDirect } from './go-direct.js'
import type { ConnectionPath } from './connection-path.js'

type Path = ConnectionPath | 'none'

/** A connection that turns `direct` on the try numbered `directOnTry` (from 1), if ever. */
function connection (directOnTry?: number): { path: () => Path, upgrade: (signal: AbortSignal) => Promise<void>, tries: AbortSignal[], failures: Error[] } {
  let path: Path = 'relayed'
  const tries: AbortSignal[] = []
  return {
    path: () => path,
    tries,
    failures: [],
    upgrade: async signal => {
      tries.push(signal)
      await Promise.resolve()
      if (tries.length === directOnTry) { path = 'direct'; return }
      throw new Error(`ICE failed on try ${tries.length}`)
    }
  }
}

describe('tryDirect', () => {
  it('tries again after each pause while relayed, and stops at the first try that goes direct', async () => {
    const c = connection(2)
    const path = await tryDirect(c.path, c.upgrade, { triesAfterMs: [0, 10, 10, 10] }, err => c.failures.push(err))
    expect(path).toBe('direct')
    expect(c.tries).toHaveLength(2)
    expect(c.failures.map(e => e.message)).toEqual(['ICE failed on try 1'])
  })

  it('gives up relayed after the last try, each try bounded by its own timeout', async () => {
    const c = connection()
    const path = await tryDirect(c.path, c.upgrade, { triesAfterMs: [0, 5, 5], tryTimeoutMs: 20 }, err => c.failures.push(err))
    expect(path).toBe('relayed')
    expect(c.tries).toHaveLength(3)
    expect(c.failures).toHaveLength(3)
    await new Promise(resolve => setTimeout(resolve, 40))
    expect(c.tries.every(signal => signal.aborted)).toBe(true)
  })

  it('does not try when the peers are already direct or no longer connected', async () => {
    for (const now of ['direct', 'none'] as const) {
      const tries: AbortSignal[] = []
      expect(await tryDirect(() => now, async signal => { tries.push(signal); await Promise.resolve() }, {}, () => {})).toBe(now)
      expect(tries).toHaveLength(0)
    }
  })

  it('stops waiting for the next try when its signal aborts, and hands the signal to the try under way', async () => {
    const c = connection()
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 20)
    expect(await tryDirect(c.path, c.upgrade, { triesAfterMs: [0, 60_000], signal: controller.signal }, err => c.failures.push(err))).toBe('relayed')
    expect(c.tries).toHaveLength(1)
    expect(c.tries[0]?.aborted).toBe(true)
  })
})
