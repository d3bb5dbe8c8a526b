import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { STOP_OK, hopConnect } from './raw-circuit.fixture.js'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long the destination takes to accept a circuit: the source gives up before that. */
const ACCEPT_AFTER_MS = 800
const SOURCE_GIVES_UP_MS = 200

function stopStreams (relay: Libp2p, destination: PeerId): number {
  return relay.getConnections(destination).flatMap(c => c.streams).filter(s => s.protocol === RELAY_PROTOCOLS.stop).length
}

describe('the circuit relay stop-stream patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('closes the stream to the destination when the source gave up before the circuit was ready', async () => {
    const relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), relay: circuitRelayServer() }
    })
    const destination = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    const source = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    nodes.push(relay, destination, source)
    const relayAddress = relay.getMultiaddrs()[0] as Multiaddr
    await destination.dial(relayAddress)
    await expect.poll(() => destination.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')), { timeout: 10_000 }).toBe(true)
    // The destination accepts circuits slowly (a busy phone).
    await destination.unhandle(RELAY_PROTOCOLS.stop)
    await destination.handle(RELAY_PROTOCOLS.stop, stream => {
      stream.addEventListener('message', () => { setTimeout(() => { stream.send(STOP_OK) }, ACCEPT_AFTER_MS) }, { once: true })
    }, { runOnLimitedConnection: true })

    const hop = await source.dialProtocol(relayAddress, RELAY_PROTOCOLS.hop)
    hop.send(hopConnect(destination.peerId))
    await expect.poll(() => stopStreams(relay, destination.peerId), { timeout: 5_000 }).toBe(1)
    await new Promise(resolve => setTimeout(resolve, SOURCE_GIVES_UP_MS))
    hop.abort(new Error('the source gave up'))
    // Unpatched, the relay failed to answer the source and left the stream to the destination open for good.
    await new Promise(resolve => setTimeout(resolve, ACCEPT_AFTER_MS + 500))
    expect(stopStreams(relay, destination.peerId)).toBe(0)
  })
})
