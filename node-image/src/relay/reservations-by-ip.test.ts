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
    expect(index.count('10.0.0.1', 'a', stillReserved)).toBe(1)
    expect(index.count('10.0.0.1', 'z', stillReserved)).toBe(2)
    expect(index.count('10.0.0.9', 'z', stillReserved)).toBe(0)
  })

  it('forgets holders whose reservation is gone, and moves a holder that renews from a new address', () => {
    const index = new ReservationsByIp<string>()
    reserved.clear()
    for (const peer of ['a', 'b']) { reserved.add(peer); index.add(peer, peer, '10.0.0.1') }
    reserved.delete('a')
    expect(index.count('10.0.0.1', 'z', stillReserved)).toBe(1)
    expect(index.size).toBe(1)
    index.add('b', 'b', '10.0.0.2')
    expect(index.count('10.0.0.1', 'z', stillReserved)).toBe(0)
    expect(index.count('10.0.0.2', 'z', stillReserved)).toBe(1)
    index.remove('b')
    expect(index.size).toBe(0)
  })
})
