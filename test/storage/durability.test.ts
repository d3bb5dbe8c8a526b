import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cidOf } from '../../node-image/src/blocks/cid.js'
import { replicaCounts } from '../../node-image/src/blocks/replica-counts.js'
import { FleetClient } from '../../fleet-client/src/index.js'
import { MeganetPeer } from '../../node-image/src/peer/index.js'
import { eventually } from '../helpers/anchor-process.js'
import { TestNats, natsClient } from '../helpers/nats.js'
import { MEMBER_TTL_MS } from '../coordination/fleet.js'
import { storageFleet, waitForMembers } from './storage-fleet.js'
import type { AnchorProcess } from '../helpers/anchor-process.js'
import type { CID } from 'multiformats/cid'
import type { NatsConnection } from '@nats-io/nats-core'
import { testOperatorKey } from '../helpers/operator-key.js'

const BLOCKS = 24
const REPLICATION = 3
/** Bound on restoring R after a loss: member TTL to notice, then a few 1 s repair rounds. */
const RESTORE_BOUND_MS = MEMBER_TTL_MS + 15_000

function alive (anchor: AnchorProcess): boolean {
  return anchor.anchor.running
}

describe('stored blocks survive losing anchors', () => {
  let nats: TestNats
  let nc: NatsConnection
  let anchors: AnchorProcess[] = []
  let peer: MeganetPeer
  const blocks: Array<{ cid: CID, bytes: Uint8Array }> = []

  beforeAll(async () => {
    nats = await TestNats.start()
    nc = await natsClient(nats.url)
    anchors = await storageFleet(nats, 'durable', 5)
    peer = await MeganetPeer.create({ anchors: anchors.map(a => a.tcpAddress), allowPrivateAddresses: true })
    await peer.start()
    for (let i = 0; i < BLOCKS; i++) {
      const bytes = randomBytes(10_000 + i * 1000)
      const cid = await cidOf(bytes, 'raw')
      await peer.blocks().put(cid, bytes, { pin: false })
      blocks.push({ cid, bytes })
    }
    await eventually(async () => (await replicaCounts(peer.node, anchors.filter(alive).map(a => a.peerId), blocks.map(b => b.cid))).every(n => n === REPLICATION) ? true : undefined, 15_000, 'all blocks on R anchors')
  })

  afterAll(async () => {
    await peer?.stop()
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nc?.close()
    await nats?.cleanup()
  })

  async function everyBlockReadable (): Promise<void> {
    for (const { cid, bytes } of blocks) {
      expect(Buffer.from(await peer.blocks().get(cid)).equals(bytes)).toBe(true)
    }
  }

  it('keeps every block readable after kill -9 of an anchor, and restores R within a bound', async () => {
    const victim = anchors[4]!
    const started = Date.now()
    await victim.stop('SIGKILL')
    await everyBlockReadable()
    await eventually(async () => (await replicaCounts(peer.node, anchors.filter(alive).map(a => a.peerId), blocks.map(b => b.cid))).every(n => n >= REPLICATION) ? true : undefined,
      RESTORE_BOUND_MS, `R=${REPLICATION} restored`)
    console.log(`R restored ${Date.now() - started} ms after kill -9`)
    // The gauge reports the last finished round: the one after the copies were pushed finds none missing.
    await eventually(async () => (await anchors[0]!.metric('meganet_storage_under_replicated_blocks')) === 0 ? true : undefined, 5_000, 'no under-replicated blocks')
  })

  it('drains an anchor (blocks handed off, then drained) and loses nothing when it is removed', async () => {
    const fleet = new FleetClient(nc, { region: 'local', fleet: 'durable' }, { commandKey: testOperatorKey().key })
    const leaving = anchors[3]!
    const held = (await leaving.json<{ storage: { blocks: number } }>('/status')).storage.blocks
    expect(held).toBeGreaterThan(0)
    await fleet.command(leaving.peerId, 'drain')
    const member = await eventually(async () => {
      const record = (await fleet.members(MEMBER_TTL_MS)).find(m => m.peerId === leaving.peerId)
      return record?.phase === 'drained' ? record : undefined
    }, 30_000, 'drained after hand-off')
    expect(member.drain?.blocksLeft).toBe(0)
    expect(await leaving.stop('SIGTERM')).toBe(0)
    await waitForMembers(anchors.filter(alive), 3)
    await everyBlockReadable()
    await eventually(async () => (await replicaCounts(peer.node, anchors.filter(alive).map(a => a.peerId), blocks.map(b => b.cid))).every(n => n >= REPLICATION) ? true : undefined,
      RESTORE_BOUND_MS, 'R on the three anchors left')
  })
})
