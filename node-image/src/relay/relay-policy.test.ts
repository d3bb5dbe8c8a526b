import { describe, expect, it } from 'vitest'
import { circuitRefusal, reservationRefusal } from './relay-policy.js'
import { hopMessageType } from './relay-guard.js'

const caps = { maxReservations: 10, maxReservationsPerIp: 2, maxCircuitsPerPeer: 3 }
const fresh = { draining: false, renewal: false, activeReservations: 0, sameIpReservations: 0 }

describe('reservationRefusal', () => {
  it('admits a reservation under every cap', () => {
    expect(reservationRefusal(fresh, caps)).toBeUndefined()
  })
  it('refuses at capacity, per IP and while draining', () => {
    expect(reservationRefusal({ ...fresh, activeReservations: 10 }, caps)).toBe('capacity')
    expect(reservationRefusal({ ...fresh, sameIpReservations: 2 }, caps)).toBe('per_ip')
    expect(reservationRefusal({ ...fresh, draining: true }, caps)).toBe('draining')
  })
  it('always renews a reservation the peer holds, except while draining', () => {
    expect(reservationRefusal({ ...fresh, renewal: true, activeReservations: 10, sameIpReservations: 5 }, caps)).toBeUndefined()
    expect(reservationRefusal({ ...fresh, renewal: true, draining: true }, caps)).toBe('draining')
  })
  it('treats a per-IP cap of 0 as no cap', () => {
    expect(reservationRefusal({ ...fresh, sameIpReservations: 500 }, { ...caps, maxReservationsPerIp: 0 })).toBeUndefined()
  })
})

describe('circuitRefusal', () => {
  it('refuses when either end is at its circuit cap', () => {
    expect(circuitRefusal({ draining: false, sourceCircuits: 2, destinationCircuits: 2 }, caps)).toBeUndefined()
    expect(circuitRefusal({ draining: false, sourceCircuits: 3, destinationCircuits: 0 }, caps)).toBe('per_peer')
    expect(circuitRefusal({ draining: false, sourceCircuits: 0, destinationCircuits: 3 }, caps)).toBe('per_peer')
    expect(circuitRefusal({ draining: false, sourceCircuits: 99, destinationCircuits: 99 }, { ...caps, maxCircuitsPerPeer: 0 })).toBeUndefined()
    expect(circuitRefusal({ draining: true, sourceCircuits: 0, destinationCircuits: 0 }, caps)).toBe('draining')
  })
})

describe('hopMessageType', () => {
  it('reads the type of the first hop frame', () => {
    expect(hopMessageType(Uint8Array.of(4, 0x08, 1, 0x12, 0))).toBe(1)
    expect(hopMessageType(Uint8Array.of(2, 0x08, 0))).toBe(0)
    expect(hopMessageType(Uint8Array.of(0x81, 0x01, 0x08, 1))).toBe(1)
    expect(hopMessageType(Uint8Array.of(2, 0x12, 0))).toBeUndefined()
  })
})
