import { describe, expect, it } from 'vitest'
import { SharedAttempts, tryDirect } from './go-direct.js'
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

describe('SharedAttempts', () => {
  /** An attempt that settles when told to, recording the signal it was given. */
  function attempt (): { start: (signal: AbortSignal) => Promise<string>, finish: (value: string) => void, fail: (err: Error) => void, starts: AbortSignal[] } {
    const starts: AbortSignal[] = []
    let settle: { resolve: (v: string) => void, reject: (e: Error) => void } | undefined
    return {
      starts,
      start: async signal => {
        starts.push(signal)
        return await new Promise<string>((resolve, reject) => { settle = { resolve, reject } })
      },
      finish: value => { settle?.resolve(value) },
      fail: err => { settle?.reject(err) }
    }
  }

  it('runs one attempt for callers of the same key and hands each its result', async () => {
    const shared = new SharedAttempts<string>()
    const a = attempt()
    const first = shared.join('p', a.start, undefined, () => 'now')
    const second = shared.join('p', a.start, undefined, () => 'now')
    a.finish('direct')
    expect(await Promise.all([first, second])).toEqual(['direct', 'direct'])
    expect(a.starts).toHaveLength(1)
    const b = attempt()
    const later = shared.join('p', b.start, undefined, () => 'now')
    b.finish('relayed')
    expect(await later).toBe('relayed')
    expect(b.starts).toHaveLength(1)
  })

  it('lets a caller stop waiting without cutting the attempt short for the others', async () => {
    const shared = new SharedAttempts<string>()
    const a = attempt()
    const leaving = new AbortController()
    const first = shared.join('p', a.start, leaving.signal, () => 'relayed now')
    const second = shared.join('p', a.start, undefined, () => 'unused')
    leaving.abort()
    expect(await first).toBe('relayed now')
    expect(a.starts[0]?.aborted).toBe(false)
    a.finish('direct')
    expect(await second).toBe('direct')
  })

  it('stops the attempt once every caller has given up', async () => {
    const shared = new SharedAttempts<string>()
    const a = attempt()
    const [x, y] = [new AbortController(), new AbortController()]
    const first = shared.join('p', a.start, x.signal, () => 'x')
    const second = shared.join('p', a.start, y.signal, () => 'y')
    x.abort()
    expect(a.starts[0]?.aborted).toBe(false)
    y.abort()
    expect(await Promise.all([first, second])).toEqual(['x', 'y'])
    expect(a.starts[0]?.aborted).toBe(true)
    expect(await shared.join('p', a.start, x.signal, () => 'already aborted')).toBe('already aborted')
    expect(a.starts).toHaveLength(1)
    // The stopped attempt has not settled yet: the next caller starts a new one all the same.
    void shared.join('p', a.start, undefined, () => 'now')
    expect(a.starts).toHaveLength(2)
    expect(a.starts[1]?.aborted).toBe(false)
  })

  it('hands a failed attempt\'s error to every caller still waiting', async () => {
    const shared = new SharedAttempts<string>()
    const a = attempt()
    const first = shared.join('p', a.start, undefined, () => 'now')
    const second = shared.join('p', a.start, new AbortController().signal, () => 'now')
    a.fail(new Error('boom'))
    await expect(first).rejects.toThrow('boom')
    await expect(second).rejects.toThrow('boom')
  })
})
