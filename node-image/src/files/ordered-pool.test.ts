import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { mapInOrder } from './ordered-pool.js'

function range (n: number): number[] {
  return Array.from({ length: n }, (_, i) => i)
}

describe('mapping in order with a bounded window', () => {
  it('hands results on in item order whatever order they finish in', async () => {
    const seen: Array<[number, number]> = []
    const count = await mapInOrder(range(20), async item => {
      await sleep(Math.random() * 10)
      return item * 2
    }, (result, index) => { seen.push([result, index]) }, { limit: 5 })
    expect(count).toBe(20)
    expect(seen).toEqual(range(20).map(i => [i * 2, i]))
  })

  it('never has more than `limit` calls in flight', async () => {
    let inFlight = 0
    let peak = 0
    await mapInOrder(range(30), async () => {
      peak = Math.max(peak, ++inFlight)
      await sleep(Math.random() * 5)
      inFlight--
    }, () => {}, { limit: 3 })
    expect(peak).toBe(3)
  })

  it('pulls the next item only when there is room', async () => {
    let pulled = 0
    let peakAhead = 0
    let done = 0
    async function * source (): AsyncGenerator<number> {
      for (let i = 0; i < 12; i++) {
        await sleep(0)
        pulled++
        peakAhead = Math.max(peakAhead, pulled - done)
        yield i
      }
    }
    await mapInOrder(source(), async () => { await sleep(2) }, () => { done++ }, { limit: 4 })
    expect(peakAhead).toBeLessThanOrEqual(4)
  })

  it('handles an empty source', async () => {
    expect(await mapInOrder([], async () => await Promise.resolve(1), () => {}, { limit: 2 })).toBe(0)
  })

  it('fails fast on a later item but waits for the calls in flight', async () => {
    let settled = 0
    const started = Date.now()
    const run = mapInOrder(range(3), async item => {
      try {
        if (item === 0) await sleep(300)
        if (item === 2) throw new Error('item 2 failed')
        await sleep(20)
      } finally {
        settled++
      }
    }, () => {}, { limit: 3 })
    await expect(run).rejects.toThrow('item 2 failed')
    expect(settled).toBe(3)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
  })

  it('stops pulling after a failure and closes the source', async () => {
    let pulled = 0
    let closed = false
    async function * source (): AsyncGenerator<number> {
      try {
        for (let i = 0; i < 100; i++) {
          await sleep(0)
          pulled++
          yield i
        }
      } finally {
        closed = true
      }
    }
    const run = mapInOrder(source(), async () => await Promise.resolve(), (_result, index) => { if (index === 5) throw new Error('consume failed') }, { limit: 2 })
    await expect(run).rejects.toThrow('consume failed')
    expect(pulled).toBeLessThan(10)
    expect(closed).toBe(true)
  })

  it('rejects with the signal\'s reason once aborted', async () => {
    const controller = new AbortController()
    let started = 0
    const run = mapInOrder(range(100), async () => {
      started++
      await sleep(5)
    }, (_result, index) => { if (index === 3) controller.abort(new Error('stop now')) }, { limit: 2, signal: controller.signal })
    await expect(run).rejects.toThrow('stop now')
    expect(started).toBeLessThan(10)
  })

  it('lets go of items and results once consumed, however long the run', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const items: Array<WeakRef<object>> = []
    const results: Array<WeakRef<object>> = []
    let released = false
    async function * source (): AsyncGenerator<{ payload: Uint8Array }> {
      for (let i = 0; i < 40; i++) {
        await sleep(0)
        const item = { payload: new Uint8Array(1024) }
        items.push(new WeakRef(item))
        yield item
      }
    }
    await mapInOrder(source(), async item => {
      await sleep(0)
      const result = { payload: item.payload.slice() }
      results.push(new WeakRef(result))
      return result
    }, async (_result, index) => {
      if (index !== 30) return
      await sleep(0)
      gc()
      released = items.slice(0, 20).every(ref => ref.deref() == null) && results.slice(0, 20).every(ref => ref.deref() == null)
    }, { limit: 3, signal: new AbortController().signal })
    expect(released).toBe(true)
  })

  it('refuses a limit below one', async () => {
    await expect(mapInOrder([1], async () => {}, () => {}, { limit: 0 })).rejects.toBeInstanceOf(RangeError)
  })
})
