import { afterEach, describe, expect, it } from 'vitest'
import { loopbackNode as node } from './loopback-node.fixture.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

const PROTOCOL = '/meganet-test/merge/1.0.0'
const STREAMS = 20

/** Counts the peer store merges that record `protocol` for `peer`. */
function countProtocolMerges (target: Libp2p, peer: PeerId): () => number {
  let count = 0
  const merge = target.peerStore.merge.bind(target.peerStore)
  target.peerStore.merge = async (id, data, options) => {
    if (id.equals(peer) && data.protocols?.includes(PROTOCOL) === true) count++
    return await merge(id, data, options)
  }
  return () => count
}

describe('the libp2p stream protocol merge patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('records a negotiated protocol in the peer store once per connection, not once per stream', async () => {
    const [dialer, listener] = [await node(), await node()]
    nodes.push(dialer, listener)
    await listener.handle(PROTOCOL, async stream => { await stream.close() })
    const outbound = countProtocolMerges(dialer, listener.peerId)
    const inbound = countProtocolMerges(listener, dialer.peerId)
    const connection = await dialer.dial(listener.getMultiaddrs()[0]!)
    for (let i = 0; i < STREAMS; i++) {
      const stream = await connection.newStream(PROTOCOL)
      await stream.close()
    }
    // Both sides still know the other speaks it.
    expect((await dialer.peerStore.get(listener.peerId)).protocols).toContain(PROTOCOL)
    await expect.poll(async () => (await listener.peerStore.get(dialer.peerId)).protocols).toContain(PROTOCOL)
    // Unpatched: one merge (a peer store lock, load and compare) per stream on each side.
    expect(outbound()).toBe(1)
    expect(inbound()).toBe(1)
  })
})
