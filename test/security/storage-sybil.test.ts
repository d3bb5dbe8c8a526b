import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cidOf } from '../../node-image/src/blocks/cid.js'
import { isStoreError, storeRequest } from '../../node-image/src/blocks/store-client.js'
import { eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { TestPeers } from '../helpers/peers.js'
import { rawNode } from '../../bench/src/attack-node.js'
import { storageFleet } from '../storage/storage-fleet.js'
import type { AnchorProcess } from '../helpers/anchor-process.js'
import type { RawNode } from '../../bench/src/attack-node.js'

const BLOCK_BYTES = 256 * 1024

/**
 * Issue 13, finding 2: PeerIds are free, so limits per PeerId alone let one host fill a fleet.
 * Eleven fresh PeerIds from one address pin blocks until refused; a peer from another network
 * must still be able to store.
 */
describe('storage limits hold against many PeerIds from one network', () => {
  let nats: TestNats
  let anchors: AnchorProcess[] = []
  const attackers: RawNode[] = []
  const peers = new TestPeers()

  beforeAll(async () => {
    nats = await TestNats.start()
    // Small anchors so that filling them takes seconds: 8 MiB each, every block on all three.
    anchors = await storageFleet(nats, 'sybil', 3, { 'storage-capacity': '8MiB' })
  })

  afterAll(async () => {
    await peers.stopAll()
    await Promise.all(attackers.map(async a => await a.stop()))
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
  })

  it('stops one network at its share of the capacity, and an honest peer still stores', async () => {
    const refusals = new Map<string, number>()
    let stored = 0
    for (let i = 0; i < 11; i++) {
      const node = await rawNode({ localAddress: '127.0.1.1' })
      attackers.push(node)
      const entry = anchors[i % anchors.length]!
      for (let j = 0; j < 16; j++) {
        const block = randomBytes(BLOCK_BYTES)
        const cid = await cidOf(block, 'raw')
        try {
          await node.dial(multiaddr(entry.tcpAddress))
          await storeRequest(node, peerIdFromString(entry.peerId), { op: 'put', cid: cid.toString(), size: block.byteLength, pin: true }, block)
          stored += block.byteLength
        } catch (err) {
          const code = isStoreError(err) ? err.code : 'other'
          refusals.set(code, (refusals.get(code) ?? 0) + 1)
          if (code === 'rate_limited') await new Promise(resolve => setTimeout(resolve, 200))
        }
      }
    }
    // The attackers got somewhere, then were refused for their network's quota, not because the store was full.
    expect(stored).toBeGreaterThan(0)
    expect(refusals.get('store_full') ?? 0).toBe(0)
    expect(refusals.get('quota_exceeded') ?? 0).toBeGreaterThan(0)

    // A peer of another network stores as much as one network may hold through its anchor.
    const honest = await peers.on(anchors[0]!)
    const big = randomBytes(BLOCK_BYTES)
    await honest.blocks().put(await cidOf(big, 'raw'), big, { pin: true })
    const small = randomBytes(10_000)
    await honest.blocks().put(await cidOf(small, 'raw'), small, { pin: false })
  })

  it('treats a pin as a lease its owner can release', async () => {
    const owner = await peers.on(anchors[1]!)
    const target = peerIdFromString(anchors[1]!.peerId)
    const block = randomBytes(10_000)
    const cid = await cidOf(block, 'raw')
    const leasesBefore = (await anchors[1]!.json<{ storage: { leases: number } }>('/status')).storage.leases
    const { reply } = await storeRequest(owner.node, target, { op: 'put', cid: cid.toString(), size: block.byteLength, pin: true }, block)
    expect(reply).toMatchObject({ ok: true, leaseExpiresAt: expect.any(Number) as number })
    await eventually(async () => (await anchors[1]!.json<{ storage: { leases: number } }>('/status')).storage.leases > leasesBefore ? true : undefined, 5_000, 'lease held')
    // Another peer cannot release someone else's lease; its owner can.
    const stranger = await peers.on(anchors[1]!)
    await storeRequest(stranger.node, target, { op: 'unpin', cid: cid.toString() } as never)
    expect((await anchors[1]!.json<{ storage: { leases: number } }>('/status')).storage.leases).toBeGreaterThan(leasesBefore)
    await storeRequest(owner.node, target, { op: 'unpin', cid: cid.toString() } as never)
    await eventually(async () => (await anchors[1]!.json<{ storage: { leases: number } }>('/status')).storage.leases === leasesBefore ? true : undefined, 5_000, 'lease released')
  })
})
