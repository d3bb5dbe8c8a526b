import { describe, expect, it } from 'vitest'
import { ResponseCache } from './response-cache.js'

describe('ResponseCache', () => {
  it('computes once for concurrent callers and once per interval after that', async () => {
    let calls = 0
    const cache = new ResponseCache(1000, async () => { calls++; await new Promise(resolve => setTimeout(resolve, 10)); return calls })
    expect(await Promise.all(Array.from({ length: 50 }, async () => (await cache.snapshot()).result))).toEqual(Array(50).fill(1))
    expect((await cache.snapshot()).result).toBe(1)
    expect((await cache.snapshot(Date.now() + 2000)).result).toBe(2)
  })

  it('tells when its value was computed', async () => {
    let calls = 0
    const cache = new ResponseCache(1000, async () => await Promise.resolve(++calls))
    const before = Date.now()
    const first = await cache.snapshot()
    expect(first.at).toBeGreaterThanOrEqual(before)
    expect(await cache.snapshot(first.at + 999)).toBe(first)
    expect((await cache.snapshot(first.at + 1000)).result).toBe(2)
  })

  it('does not keep a failure', async () => {
    let fail = true
    const cache = new ResponseCache(1000, async () => { await Promise.resolve(); if (fail) throw new Error('no'); return 'ok' })
    await expect(cache.snapshot()).rejects.toThrow('no')
    fail = false
    expect((await cache.snapshot()).result).toBe('ok')
  })
})
