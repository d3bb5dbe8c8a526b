import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const hasCircuitAddress = (node: Libp2p): boolean => node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

describe('the circuit relay reservation retry patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('tries a failed reservation again on the connection that stayed open', async () => {
    // The relay refuses the first request, as a relay does whose answer came after the peer gave
    // up or that was full for a moment; the connection stays open.
    let requests = 0
    const relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyInboundRelayReservation: () => ++requests === 1 },
      services: { identify: identify(), relay: circuitRelayServer() }
    })
    const peer = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport()],
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
