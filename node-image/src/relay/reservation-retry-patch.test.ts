import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The peer's reservationCompletionTimeout (libp2p's default is 5 s). */
const GIVES_UP_AFTER_MS = 300

const hasCircuitAddress = (node: Libp2p): boolean => node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

describe('the circuit relay reservation retry patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('tries a reservation again on the connection that stayed open when the relay answered too late', async () => {
    // The relay answers the first request after the peer gave up waiting, as a relay busy with a
    // crowd does (it grants the reservation all the same); the connection stays open.
    let requests = 0
    const relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyInboundRelayReservation: async () => {
          if (++requests === 1) await new Promise(resolve => setTimeout(resolve, 3 * GIVES_UP_AFTER_MS))
          return false
        }
      },
      services: { identify: identify(), relay: circuitRelayServer() }
    })
    const peer = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport({ reservationCompletionTimeout: GIVES_UP_AFTER_MS })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    nodes.push(relay, peer)
    await peer.dial(relay.getMultiaddrs()[0] as Multiaddr)
    await expect.poll(() => requests, { timeout: 5_000 }).toBe(1)
    // Unpatched, the peer stays connected without a reservation for as long as the connection lasts.
    await expect.poll(() => hasCircuitAddress(peer), { timeout: 10_000, interval: 100 }).toBe(true)
    expect(requests).toBe(2)
    expect(peer.getConnections(relay.peerId)).toHaveLength(1)
  })
})
