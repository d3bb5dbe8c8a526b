import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PROTOCOLS } from '@meganet/contracts'
import { verifyBootstrapList } from '../../node-image/src/bootstrap/signed-list.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestPeers } from '../helpers/peers.js'
import { rawNode } from '../../bench/src/attack-node.js'
import type { RawNode } from '../../bench/src/attack-node.js'

/**
 * Issue 13, finding 4: only anchors are trusted as anchors. A client that claims the DHT
 * protocol is not an anchor, and a stranger cannot tell a peer where to move.
 */
describe('only anchors are trusted as anchors', () => {
  let anchor: AnchorProcess
  const nodes: RawNode[] = []
  const peers = new TestPeers()

  beforeAll(async () => {
    anchor = await AnchorProcess.start()
  })

  afterEach(async () => {
    await peers.stopAll()
    await Promise.all(nodes.splice(0).map(async n => await n.stop()))
  })

  afterAll(async () => {
    await anchor?.cleanup()
  })

  it('keeps a node that merely announces the DHT protocol out of the signed bootstrap list', async () => {
    const impostor = await rawNode({
      listenTcp: true,
      services: { dht: kadDHT({ protocol: PROTOCOLS.dht, clientMode: false, peerInfoMapper: passthroughMapper }) }
    })
    nodes.push(impostor)
    await impostor.dial(multiaddr(anchor.tcpAddress))
    // Give identify time to tell the anchor which protocols the impostor speaks.
    await eventually(async () => {
      const status = await anchor.json<{ connections: { total: number } }>('/status')
      return status.connections.total >= 1 ? true : undefined
    }, 10_000, 'impostor connected')
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const list = await verifyBootstrapList(await anchor.json<unknown>('/bootstrap'), [anchor.peerId])
    expect(list.anchors.map(a => a.peerId)).toEqual([anchor.peerId])
  })

  it('ignores a move notice from anyone but the peer\'s own anchors', async () => {
    const peer = await peers.on(anchor, { listenTcp: true })
    const direct = peer.node.getMultiaddrs().map(a => a.toString()).find(a => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/p2p-circuit'))
    expect(direct).toBeDefined()
    const lure = await rawNode({ listenTcp: true })
    const stranger = await rawNode()
    nodes.push(lure, stranger)
    let lured = false
    lure.addEventListener('peer:connect', event => { if (event.detail.toString() === peer.peerId) lured = true })
    const lureAddress = lure.getMultiaddrs().map(a => a.toString()).find(a => a.includes('/tcp/'))!

    try {
      const stream = await stranger.dialProtocol(multiaddr(direct), PROTOCOLS.notice, { signal: AbortSignal.timeout(5_000) })
      await lpStream(stream).write(new TextEncoder().encode(JSON.stringify({ type: 'move', anchors: [lureAddress] })))
      await stream.close().catch(() => {})
    } catch {
      // The peer may shut the stream at once: the defence, not a failure.
    }
    await new Promise(resolve => setTimeout(resolve, 3_000))
    expect(lured).toBe(false)
    expect(peer.circuitAddresses().some(a => a.includes(`/p2p/${anchor.peerId}/p2p-circuit`))).toBe(true)
  })
})
