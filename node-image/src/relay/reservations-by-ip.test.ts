import { describe, expect, it } from 'vitest'
import { ReservationsByIp } from './reservations-by-ip.js'

describe('ReservationsByIp', () => {
  const reserved = new Set<string>()
  const stillReserved = (holder: string): boolean => reserved.has(holder)

  it('counts other holders from the same address, not the requester or other addresses', () => {
    const index = new ReservationsByIp<string>()
    for (const [peer, ip] of [['a', '10.0.0.1'], ['b', '10.0.0.1'], ['c', '10.0.0.2']] as const) {
      reserved.add(peer)
      index.add(peer, peer, ip)
    }
    expect(index.count('10.0.0.1', 'a', stillReserved, Infinity)).toBe(1)
    expect(index.count('10.0.0.1', 'z', stillReserved, Infinity)).toBe(2)
    expect(index.count('10.0.0.9', 'z', stillReserved, Infinity)).toBe(0)
  })

  it('stops counting at the limit, the cap past which the answer is the same', () => {
    const index = new ReservationsByIp<string>()
    reserved.clear()
    const checked: string[] = []
    const watched = (holder: string): boolean => { checked.push(holder); return reserved.has(holder) }
    for (let i = 0; i < 1000; i++) { reserved.add(`p${i}`); index.add(`p${i}`, `p${i}`, '10.0.0.1') }
    expect(index.count('10.0.0.1', 'z', watched, 3)).toBe(3)
    expect(checked).toHaveLength(3)
    expect(index.count('10.0.0.1', 'p0', watched, 3)).toBe(3)
    expect(index.count('10.0.0.1', 'z', watched, 0)).toBe(0)
  })

  it('forgets holders whose reservation is gone, and moves a holder that renews from a new address', () => {
    const index = new ReservationsByIp<string>()
    reserved.clear()
    for (const peer of ['a', 'b']) { reserved.add(peer); index.add(peer, peer, '10.0.0.1') }
    reserved.delete('a')
    expect(index.count('10.0.0.1', 'z', stillReserved, Infinity)).toBe(1)
    expect(index.size).toBe(1)
    index.add('b', 'b', '10.0.0.2')
    expect(index.count('10.0.0.1', 'z', stillReserved, Infinity)).toBe(0)
    expect(index.count('10.0.0.2', 'z', stillReserved, Infinity)).toBe(1)
    index.remove('b')
    expect(index.size).toBe(0)
  })
})
