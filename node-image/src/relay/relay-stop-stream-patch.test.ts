import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { afterEach, describe, expect, it } from 'vitest'
import { STOP_OK, hopConnect, relayNetwork } from './raw-circuit.fixture.js'
import type { RelayNetwork } from './raw-circuit.fixture.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** How long the destination takes to accept a circuit: the source gives up before that. */
const ACCEPT_AFTER_MS = 800
const SOURCE_GIVES_UP_MS = 200

function stopStreams (relay: Libp2p, destination: PeerId): number {
  return relay.getConnections(destination).flatMap(c => c.streams).filter(s => s.protocol === RELAY_PROTOCOLS.stop).length
}

describe('the circuit relay stop-stream patch (patches/README.md)', () => {
  let network: RelayNetwork | undefined
  afterEach(async () => { await network?.stop() })

  it('closes the stream to the destination when the source gave up before the circuit was ready', async () => {
    network = await relayNetwork({ sources: 1 })
    const { relay, relayAddress, destination, sources: [source] } = network
    // The destination accepts circuits slowly (a busy phone).
    await destination.unhandle(RELAY_PROTOCOLS.stop)
    await destination.handle(RELAY_PROTOCOLS.stop, stream => {
      stream.addEventListener('message', () => { setTimeout(() => { stream.send(STOP_OK) }, ACCEPT_AFTER_MS) }, { once: true })
    }, { runOnLimitedConnection: true })

    const hop = await (source as Libp2p).dialProtocol(relayAddress, RELAY_PROTOCOLS.hop)
    hop.send(hopConnect(destination.peerId))
    await expect.poll(() => stopStreams(relay, destination.peerId), { timeout: 5_000 }).toBe(1)
    await new Promise(resolve => setTimeout(resolve, SOURCE_GIVES_UP_MS))
    hop.abort(new Error('the source gave up'))
    // Unpatched, the relay failed to answer the source and left the stream to the destination open for good.
    await new Promise(resolve => setTimeout(resolve, ACCEPT_AFTER_MS + 500))
    expect(stopStreams(relay, destination.peerId)).toBe(0)
  })
})
