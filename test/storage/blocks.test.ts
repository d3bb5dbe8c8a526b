import { randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cidOf } from '../../node-image/src/blocks/cid.js'
import { storeRequest } from '../../node-image/src/blocks/store-client.js'
import type { MeganetPeer } from '../../node-image/src/peer/index.js'
import { eventually } from '../helpers/anchor-process.js'
import { TestPeers } from '../helpers/peers.js'
import { TestNats } from '../helpers/nats.js'
import { storageFleet } from './storage-fleet.js'
import type { AnchorProcess } from '../helpers/anchor-process.js'
import type { CID } from 'multiformats/cid'

/** Which of the anchors hold `cid`, asked with the store protocol's `has`. */
async function holders (peer: MeganetPeer, anchors: AnchorProcess[], cid: CID): Promise<string[]> {
  const found: string[] = []
  for (const anchor of anchors) {
    if (anchor.anchor.child.exitCode != null || anchor.anchor.child.signalCode != null) continue
    const { reply } = await storeRequest(peer.node, peerIdFromString(anchor.peerId), { op: 'has', cids: [cid.toString()] }).catch(() => ({ reply: { has: [false] } }))
    if (reply.has?.[0] === true) found.push(anchor.peerId)
  }
  return found
}

describe('storage anchors: blocks placed, read anywhere, repaired', () => {
  let nats: TestNats
  let anchors: AnchorProcess[] = []
  const peers = new TestPeers()

  beforeAll(async () => {
    nats = await TestNats.start()
    anchors = await storageFleet(nats, 'blocks', 4)
  })

  afterAll(async () => {
    await peers.stopAll()
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
  })


  it('puts through one anchor and gets through another; the block sits on R=3 anchors', async () => {
    const writer = await peers.on(anchors[0]!)
    const reader = await peers.on(anchors[3]!)
    const bytes = randomBytes(200_000)
    const cid = await cidOf(bytes, 'raw')
    await writer.blocks().put(cid, bytes, { pin: false })
    expect(Buffer.from(await reader.blocks().get(cid)).equals(bytes)).toBe(true)
    await eventually(async () => (await holders(reader, anchors, cid)).length === 3 ? true : undefined, 10_000, 'three replicas')
  })

  it('refuses wrong CIDs, garbage and oversized frames with clear errors', async () => {
    const peer = await peers.on(anchors[1]!)
    const target = peerIdFromString(anchors[1]!.peerId)
    const bytes = randomBytes(1000)
    const other = await cidOf(randomBytes(10), 'raw')
    await expect(storeRequest(peer.node, target, { op: 'put', cid: other.toString(), size: bytes.byteLength }, bytes))
      .rejects.toMatchObject({ code: 'cid_mismatch', message: expect.stringContaining('does not hash to') as string })
    await expect(storeRequest(peer.node, target, { op: 'get', cid: 'bafkreinotacid' } as never))
      .rejects.toMatchObject({ code: 'malformed' })
    await expect(storeRequest(peer.node, target, { op: 'get', cid: other.toString() }))
      .rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('not stored on any reachable anchor') as string })

    // A peer that sends an oversized block is refused before the anchor reads it; only its
    // own connection suffers (the unread bytes stall it), never the anchor's other peers.
    const abuser = await peers.on(anchors[1]!)
    const oversized = storeRequest(abuser.node, target, { op: 'put', cid: other.toString(), size: 5 * 1024 * 1024 }, new Uint8Array(5 * 1024 * 1024), 5_000)
    await expect(oversized).rejects.toMatchObject({ code: 'too_large', message: expect.stringContaining('exceeds') as string })
    expect(await anchors[1]!.metric('meganet_storage_operations_total{op="put",outcome="refused"}')).toBeGreaterThanOrEqual(2)
    const fine = randomBytes(2000)
    const fineCid = await cidOf(fine, 'raw')
    await peer.blocks().put(fineCid, fine, { pin: false })
    expect((await fetch(anchors[1]!.url('/healthz'))).status).toBe(200)
  })

  it('detects a block corrupted on disk when reading it and repairs it from a replica', async () => {
    const peer = await peers.on(anchors[2]!)
    const bytes = randomBytes(50_000)
    const cid = await cidOf(bytes, 'raw')
    await peer.blocks().put(cid, bytes, { pin: false })
    const holding = await eventually(async () => {
      const found = await holders(peer, anchors, cid)
      return found.length === 3 ? found : undefined
    }, 10_000, 'three replicas')
    const victim = anchors.find(a => a.peerId === holding[0])!
    const shard = join(victim.dataDir, 'store', 'blocks', cid.toString().slice(-2))
    expect(await readdir(shard)).toContain(cid.toString())
    await writeFile(join(shard, cid.toString()), randomBytes(50_000))

    const reader = await peers.on(victim)
    const { block } = await storeRequest(reader.node, peerIdFromString(victim.peerId), { op: 'get', cid: cid.toString() })
    expect(Buffer.from(block!).equals(bytes)).toBe(true)
    expect(await victim.metric('meganet_storage_corrupt_blocks_total')).toBe(1)
    expect(await victim.metric('meganet_storage_repaired_blocks_total')).toBeGreaterThanOrEqual(1)
  })
})
