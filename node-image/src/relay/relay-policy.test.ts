import { describe, expect, it } from 'vitest'
import { circuitRefusal, reservationRefusal } from './relay-policy.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { hopConnectDestination, hopMessageType } from './relay-guard.js'

const caps = { maxReservations: 10, maxReservationsPerIp: 2, maxReservationsPerPrefix: 3, maxCircuitsPerPeer: 3, maxCircuitsPerPair: 2, maxCircuitsPerPrefixToPeer: 2 }
const fresh = { draining: false, renewal: false, activeReservations: 0, sameIpReservations: 0, samePrefixReservations: 0 }
const noCircuits = { draining: false, sourceCircuits: 0, destinationCircuits: 0, pairCircuits: 0, prefixToDestinationCircuits: 0 }

describe('reservationRefusal', () => {
  it('admits a reservation under every cap', () => {
    expect(reservationRefusal(fresh, caps)).toBeUndefined()
  })
  it('refuses at capacity, per IP and while draining', () => {
    expect(reservationRefusal({ ...fresh, activeReservations: 10 }, caps)).toBe('capacity')
    expect(reservationRefusal({ ...fresh, sameIpReservations: 2 }, caps)).toBe('per_ip')
    expect(reservationRefusal({ ...fresh, sameIpReservations: 1, samePrefixReservations: 3 }, caps)).toBe('per_prefix')
    expect(reservationRefusal({ ...fresh, draining: true }, caps)).toBe('draining')
  })
  it('always renews a reservation the peer holds, except while draining', () => {
    expect(reservationRefusal({ ...fresh, renewal: true, activeReservations: 10, sameIpReservations: 5 }, caps)).toBeUndefined()
    expect(reservationRefusal({ ...fresh, renewal: true, draining: true }, caps)).toBe('draining')
  })
  it('treats a per-IP or per-prefix cap of 0 as no cap', () => {
    expect(reservationRefusal({ ...fresh, sameIpReservations: 500 }, { ...caps, maxReservationsPerIp: 0, maxReservationsPerPrefix: 0 })).toBeUndefined()
  })
})

describe('circuitRefusal', () => {
  it('refuses when either end is at its circuit cap', () => {
    expect(circuitRefusal({ ...noCircuits, sourceCircuits: 2, destinationCircuits: 2 }, caps)).toBeUndefined()
    expect(circuitRefusal({ ...noCircuits, sourceCircuits: 3 }, caps)).toBe('per_peer')
    expect(circuitRefusal({ ...noCircuits, destinationCircuits: 3 }, caps)).toBe('per_peer')
    expect(circuitRefusal({ ...noCircuits, sourceCircuits: 99, destinationCircuits: 99 }, { ...caps, maxCircuitsPerPeer: 0 })).toBeUndefined()
    expect(circuitRefusal({ ...noCircuits, draining: true }, caps)).toBe('draining')
  })

  it('refuses a source, or a source network, that holds its share of circuits to one destination', () => {
    expect(circuitRefusal({ ...noCircuits, pairCircuits: 2, destinationCircuits: 2 }, caps)).toBe('per_pair')
    expect(circuitRefusal({ ...noCircuits, pairCircuits: 1, prefixToDestinationCircuits: 2, destinationCircuits: 2 }, caps)).toBe('per_prefix')
    expect(circuitRefusal({ ...noCircuits, pairCircuits: 9, prefixToDestinationCircuits: 9 }, { ...caps, maxCircuitsPerPair: 0, maxCircuitsPerPrefixToPeer: 0, maxCircuitsPerPeer: 0 })).toBeUndefined()
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

describe('hopConnectDestination', () => {
  it('reads the destination PeerId of a CONNECT, and nothing from other frames', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const id = peer.toMultihash().bytes
    const peerField = Uint8Array.of(0x0a, id.byteLength, ...id)
    const message = Uint8Array.of(0x08, 1, 0x12, peerField.byteLength, ...peerField)
    expect(hopConnectDestination(Uint8Array.of(message.byteLength, ...message))).toBe(peer.toString())
    expect(hopConnectDestination(Uint8Array.of(message.byteLength, ...message.subarray(0, 10)))).toBeUndefined()
    expect(hopConnectDestination(Uint8Array.of(2, 0x08, 0))).toBeUndefined()
    expect(hopConnectDestination(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBeUndefined()
  })
})
