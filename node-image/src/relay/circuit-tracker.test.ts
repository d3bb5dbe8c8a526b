import { describe, expect, it } from 'vitest'
import { CircuitTracker } from './circuit-tracker.js'
import type { Stream } from '@libp2p/interface'

function fakeStream (): Stream & { end: () => void } {
  const target = new EventTarget()
  return Object.assign(target, { end: () => { target.dispatchEvent(new Event('close')) } }) as unknown as Stream & { end: () => void }
}

describe('CircuitTracker', () => {
  it('counts admitted circuits per pair and per source network, and forgets closed ones', () => {
    const tracker = new CircuitTracker()
    const streams = [fakeStream(), fakeStream(), fakeStream()]
    tracker.request(streams[0]!, 'A', 'net-1', 'V', 0)
    tracker.request(streams[1]!, 'B', 'net-1', 'V', 0)
    tracker.request(streams[2]!, 'A', 'net-1', 'W', 0)
    expect(tracker.count('A', 'net-1', 'V')).toEqual({ pair: 0, network: 0 })
    tracker.admit('A', 'V')
    tracker.admit('B', 'V')
    tracker.admit('A', 'W')
    expect(tracker.count('A', 'net-1', 'V')).toEqual({ pair: 1, network: 2 })
    expect(tracker.count('C', 'net-2', 'V')).toEqual({ pair: 0, network: 0 })
    streams[0]!.end()
    expect(tracker.count('A', 'net-1', 'V')).toEqual({ pair: 0, network: 1 })
    expect(tracker.size).toBe(2)
  })

  it('finds circuits that moved less than the threshold over a window', () => {
    const tracker = new CircuitTracker()
    const quiet = fakeStream()
    const busy = fakeStream()
    tracker.request(quiet, 'A', undefined, 'V', 0)
    const touch = tracker.request(busy, 'B', undefined, 'V', 0)
    tracker.admit('A', 'V')
    tracker.admit('B', 'V')
    touch(10_000)
    expect(tracker.idle(1000, 4096, 500)).toEqual([])
    expect(tracker.idle(1000, 4096, 1000)).toEqual([quiet])
    expect(tracker.idle(1000, 4096, 2000)).toEqual([quiet, busy])
  })
})
