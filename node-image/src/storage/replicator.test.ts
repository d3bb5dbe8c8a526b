import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { StorageMetrics } from '../metrics/storage-metrics.js'
import { Blockstore } from './blockstore.js'
import { PeerLimits } from './peer-limits.js'
import { placeBlock, rankAnchors } from './placement.js'
import { Replicator } from './replicator.js'
import { A, B, C, D, FakeNetwork, OTHER_PEER, PEER, SELF, decode, encode } from './fake-store-fleet.fixture.js'
import { StoreService } from './store-service.js'
import type { RepairReport } from './replicator.js'
import type { StorageFleet } from './storage-fleet.js'
import type { CID } from 'multiformats/cid'

const HOUR = 3_600_000
const GRACE = 24 * HOUR
const REPAIR_INTERVAL = 60_000
const GC_INTERVAL = HOUR

interface Harness {
  readonly dir: string
  readonly store: Blockstore
  readonly network: FakeNetwork
  /** Who takes new blocks, and who may be read from (mutable). */
  readonly fleet: { placement: string[], readable: string[] }
  readonly metrics: StorageMetrics
  readonly replicator: Replicator
  /** The reports of the `round` events. */
  readonly rounds: RepairReport[]
}

const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  vi.useRealTimers()
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** The anchor under test (SELF) on a real blockstore, with its store service and replicator; A to D are fake anchors; R = 3. */
async function anchorUnderTest (): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'meganet-replicator-'))
  const store = await Blockstore.open(dir, 1024 * 1024)
  const network = new FakeNetwork([A, B, C, D])
  const fleet = { placement: [SELF, A, B, C], readable: [SELF, A, B, C] }
  const storageFleet: StorageFleet = {
    self: SELF,
    placementAnchors: () => [...fleet.placement],
    readableAnchors: () => [...fleet.readable],
    isMember: id => id === SELF || network.anchors.has(id)
  }
  const metrics = new StorageMetrics(new Registry(), {
    storedBytes: () => store.usedBytes, blocks: () => store.blockCount, capacityBytes: () => store.capacityBytes,
    repairQueue: () => 0, underReplicated: () => 0, drainBlocksLeft: () => 0
  })
  const log = pino({ level: 'silent' })
  const service = new StoreService(network.node, store, storageFleet, new PeerLimits({ bytesPerSecond: null, bytesPerDay: null }), metrics, {
    replication: 3, writeQuorum: 2, leaseTtlMs: HOUR, maxInflightBytes: 64 * 1024 * 1024, grantKeys: []
  }, log)
  const replicator = new Replicator(network.node, store, service, storageFleet, metrics, {
    replication: 3, repairIntervalMs: REPAIR_INTERVAL, gcIntervalMs: GC_INTERVAL, gcGraceMs: GRACE
  }, log)
  const rounds: RepairReport[] = []
  replicator.addEventListener('round', event => { rounds.push(event.detail) })
  cleanups.push(async () => {
    replicator.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, store, network, fleet, metrics, replicator, rounds }
}

interface TestBlock { readonly cid: CID, readonly bytes: Uint8Array, readonly text: string, readonly targets: string[] }

/** The first numbered block whose R = 3 anchors among `anchors` satisfy `where` (the same block every run). */
async function blockWhere (anchors: string[], where: (targets: string[]) => boolean, tag = 'block'): Promise<TestBlock> {
  for (let i = 0; i < 10_000; i++) {
    const text = `${tag} ${i}`
    const bytes = encode(text)
    const cid = await cidOf(bytes, 'raw')
    const targets = placeBlock(cid.toString(), anchors, 3)
    if (where(targets)) return { cid, bytes, text, targets }
  }
  throw new Error('no block is placed that way')
}

function blockPath (h: Harness, cid: CID): string {
  const key = cid.toString()
  return join(h.dir, 'store', 'blocks', key.slice(-2), key)
}

/** Marks a block as last referenced `ms` ago. */
async function age (h: Harness, cid: CID, ms: number): Promise<void> {
  await h.store.touch(cid, new Date(Date.now() - ms))
}

async function counter (metric: StorageMetrics['repairedBlocks']): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0
}

describe('Replicator repair', () => {
  it('pushes a block to the anchors placement says should hold it that lack it, with its live leases, and reports the round', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(h.fleet.placement, targets => targets.includes(SELF))
    const [holder, lacking] = b.targets.filter(t => t !== SELF) as [string, string]
    const live = { owner: PEER, expiresAt: Date.now() + HOUR }
    await h.store.put(b.cid, b.bytes, [live, { owner: OTHER_PEER, expiresAt: Date.now() - 1 }])
    h.network.anchor(holder).hold(b.cid, b.bytes)

    const report = await h.replicator.repair()

    expect(report).toEqual({ checked: 1, pushed: 1, underReplicated: 1, unconfirmed: 0 })
    expect(h.rounds).toEqual([report])
    expect(h.replicator.lastReport).toEqual(report)
    expect(h.network.requests('has').map(call => [call.to, call.request]).sort()).toEqual([
      [holder, { op: 'has', cids: [b.cid.toString()] }], [lacking, { op: 'has', cids: [b.cid.toString()] }]
    ].sort())
    expect(h.network.requests('replicate')).toEqual([
      { to: lacking, request: { op: 'replicate', cid: b.cid.toString(), size: b.bytes.byteLength, leases: [live] }, block: b.bytes }
    ])
    expect(h.network.anchor(lacking).text(b.cid)).toBe(b.text)
    expect(h.network.anchor(lacking).blocks.get(b.cid.toString())?.leases).toEqual([live])
    expect([...h.network.anchors.values()].filter(a => a.blocks.size > 0).map(a => a.id).sort()).toEqual([holder, lacking].sort())
    expect(h.store.has(b.cid)).toBe(true)
    expect(await counter(h.metrics.repairedBlocks)).toBe(1)

    expect(await h.replicator.repair()).toEqual({ checked: 1, pushed: 0, underReplicated: 0, unconfirmed: 0 })
    expect(h.network.requests('replicate')).toHaveLength(1)
  })

  it('drops its own copy once the anchors now responsible for the block all hold it (a new anchor took its place)', async () => {
    const h = await anchorUnderTest()
    h.fleet.placement = [SELF, A, B, C, D]
    const b = await blockWhere(h.fleet.placement, targets => !targets.includes(SELF))
    const [holder, ...lacking] = b.targets as [string, ...string[]]
    await h.store.put(b.cid, b.bytes)
    h.network.anchor(holder).hold(b.cid, b.bytes)

    const report = await h.replicator.repair()

    expect(report).toEqual({ checked: 1, pushed: 2, underReplicated: 1, unconfirmed: 0 })
    expect(h.network.requests('replicate').map(call => call.to).sort()).toEqual([...lacking].sort())
    for (const target of b.targets) expect(h.network.anchor(target).text(b.cid)).toBe(b.text)
    expect(h.store.has(b.cid)).toBe(false)
  })

  it('hands its blocks off while draining: pushes each to the anchors now responsible, keeps its copies, and counts down to none left', async () => {
    const h = await anchorUnderTest()
    const blocks = [await blockWhere([SELF, A, B, C], () => true, 'first'), await blockWhere([SELF, A, B, C], () => true, 'second')]
    for (const b of blocks) await h.store.put(b.cid, b.bytes)
    // A draining anchor leaves placement; its blocks are still read from it.
    h.fleet.placement = [A, B, C, D]

    h.replicator.setDraining(true)
    expect(h.replicator.lastReport.unconfirmed).toBe(2)
    const report = await h.replicator.repair()

    expect(report).toEqual({ checked: 2, pushed: 6, underReplicated: 2, unconfirmed: 0 })
    for (const b of blocks) {
      const targets = placeBlock(b.cid.toString(), [A, B, C, D], 3)
      for (const target of targets) expect(h.network.anchor(target).text(b.cid)).toBe(b.text)
      expect(h.network.requests('replicate').filter(call => call.request.op === 'replicate' && call.request.cid === b.cid.toString()).map(call => call.to).sort()).toEqual(targets.sort())
      expect(h.store.has(b.cid)).toBe(true)
    }
    expect(h.replicator.lastReport.unconfirmed).toBe(0)
  })

  it('keeps a block it cannot place while one of its anchors is unreachable, counting it unconfirmed, and places it once the anchor is back', async () => {
    const h = await anchorUnderTest()
    h.fleet.placement = [SELF, A, B, C, D]
    const b = await blockWhere(h.fleet.placement, targets => !targets.includes(SELF))
    const [down, ...up] = b.targets as [string, ...string[]]
    await h.store.put(b.cid, b.bytes)
    h.network.anchor(down).unreachable = true

    const first = await h.replicator.repair()

    expect(first).toEqual({ checked: 1, pushed: 2, underReplicated: 1, unconfirmed: 1 })
    // Its `has` failed, so it counted as holding nothing and a push was tried too.
    expect(h.network.dials.filter(id => id === down)).toHaveLength(2)
    for (const target of up) expect(h.network.anchor(target).text(b.cid)).toBe(b.text)
    expect(h.store.has(b.cid)).toBe(true)

    h.network.anchor(down).unreachable = false
    const second = await h.replicator.repair()

    expect(second).toEqual({ checked: 1, pushed: 1, underReplicated: 1, unconfirmed: 0 })
    expect(h.network.anchor(down).text(b.cid)).toBe(b.text)
    expect(h.network.requests('replicate').map(call => call.to).sort()).toEqual([...b.targets].sort())
    expect(h.store.has(b.cid)).toBe(false)
  })

  it('does not count a push an anchor refused (store_full) and tries it again the next round', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(h.fleet.placement, targets => targets.includes(SELF))
    const [full, other] = b.targets.filter(t => t !== SELF) as [string, string]
    await h.store.put(b.cid, b.bytes)
    h.network.anchor(full).refusing.set('replicate', 'store_full')

    expect(await h.replicator.repair()).toEqual({ checked: 1, pushed: 1, underReplicated: 1, unconfirmed: 1 })
    expect(h.network.anchor(other).text(b.cid)).toBe(b.text)
    expect(h.network.anchor(full).blocks.size).toBe(0)

    h.network.anchor(full).refusing.clear()
    expect(await h.replicator.repair()).toEqual({ checked: 1, pushed: 1, underReplicated: 1, unconfirmed: 0 })
    expect(h.network.anchor(full).text(b.cid)).toBe(b.text)
    expect(h.network.requests('replicate').filter(call => call.to === full)).toHaveLength(2)
    expect(h.network.requests('replicate').filter(call => call.to === other)).toHaveLength(1)
  })

  it('pushes a good copy fetched from another anchor when its own copy has rotted, and keeps that copy', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(h.fleet.placement, targets => targets.includes(SELF))
    const [holder, lacking] = b.targets.filter(t => t !== SELF) as [string, string]
    await h.store.put(b.cid, b.bytes)
    await writeFile(blockPath(h, b.cid), encode(b.text.toUpperCase()))
    h.network.anchor(holder).hold(b.cid, b.bytes)

    expect((await h.replicator.repair()).pushed).toBe(1)

    expect(h.network.anchor(lacking).text(b.cid)).toBe(b.text)
    expect(decode(await h.store.get(b.cid))).toBe(b.text)
    // The good copy came from the first anchor in rank order that had one.
    const ranked = rankAnchors(b.cid.toString(), [A, B, C])
    expect(h.network.requests('get').map(call => call.to)).toEqual(ranked.slice(0, ranked.indexOf(holder) + 1))
  })

  it('leaves garbage alone: an unpinned block not referenced within the grace period is neither checked nor pushed', async () => {
    const h = await anchorUnderTest()
    const garbage = await blockWhere(h.fleet.placement, () => true, 'garbage')
    const pinned = await blockWhere(h.fleet.placement, targets => targets.includes(SELF), 'pinned')
    await h.store.put(garbage.cid, garbage.bytes)
    await h.store.put(pinned.cid, pinned.bytes, [{ owner: PEER, expiresAt: Date.now() + HOUR }])
    await age(h, garbage.cid, 2 * GRACE)
    await age(h, pinned.cid, 2 * GRACE)

    expect(await h.replicator.repair()).toEqual({ checked: 1, pushed: 2, underReplicated: 1, unconfirmed: 0 })
    const named = h.network.calls.flatMap(call => call.request.op === 'has' ? call.request.cids : call.request.op === 'replicate' ? [call.request.cid] : [])
    expect(named).toContain(pinned.cid.toString())
    expect(named).not.toContain(garbage.cid.toString())
    expect(h.store.has(garbage.cid)).toBe(true)
  })

  it('with no storage anchors to place on, asks no one and counts every block as left only while draining', async () => {
    const h = await anchorUnderTest()
    h.fleet.placement = []
    const b = await blockWhere([SELF, A, B, C], () => true)
    await h.store.put(b.cid, b.bytes)

    expect(await h.replicator.repair()).toEqual({ checked: 1, pushed: 0, underReplicated: 0, unconfirmed: 0 })
    h.replicator.setDraining(true)
    expect(await h.replicator.repair()).toEqual({ checked: 1, pushed: 0, underReplicated: 0, unconfirmed: 1 })
    expect(h.network.dials).toEqual([])
    expect(h.store.has(b.cid)).toBe(true)
  })

  it('shares one round between repair calls made while it runs', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(h.fleet.placement, targets => targets.includes(SELF))
    await h.store.put(b.cid, b.bytes)

    const [first, second] = await Promise.all([h.replicator.repair(), h.replicator.repair()])

    expect(second).toBe(first)
    expect(h.rounds).toHaveLength(1)
    expect(h.network.requests('has')).toHaveLength(2)
    expect(h.network.requests('replicate')).toHaveLength(2)
  })
})

describe('Replicator schedule', () => {
  it('repairs every interval once started, 500 ms after a trigger, every second while draining, and never after stop', async () => {
    // An empty store and no storage anchors: a round touches neither disk nor network, so fake timers drive it all.
    const h = await anchorUnderTest()
    h.fleet.placement = []
    const collect = vi.spyOn(h.replicator, 'collectGarbage')
    vi.useFakeTimers()

    h.replicator.start()
    await vi.advanceTimersByTimeAsync(REPAIR_INTERVAL - 1)
    expect(h.rounds).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(h.rounds).toHaveLength(1)

    h.replicator.trigger()
    await vi.advanceTimersByTimeAsync(499)
    expect(h.rounds).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(h.rounds).toHaveLength(2)

    h.replicator.setDraining(true)
    await vi.advanceTimersByTimeAsync(500)
    expect(h.rounds).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(3_000)
    expect(h.rounds).toHaveLength(6)

    h.replicator.setDraining(false)
    await vi.advanceTimersByTimeAsync(500)
    expect(h.rounds).toHaveLength(7)
    await vi.advanceTimersByTimeAsync(REPAIR_INTERVAL - 1)
    expect(h.rounds).toHaveLength(7)
    await vi.advanceTimersByTimeAsync(1)
    expect(h.rounds).toHaveLength(8)

    expect(collect).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(GC_INTERVAL - 2 * REPAIR_INTERVAL - 4_500)
    expect(collect).toHaveBeenCalledTimes(1)

    h.replicator.stop()
    const rounds = h.rounds.length
    await vi.advanceTimersByTimeAsync(2 * GC_INTERVAL)
    expect(h.rounds).toHaveLength(rounds)
    expect(collect).toHaveBeenCalledTimes(1)
  })
})

describe('Replicator garbage collection', () => {
  it('removes unpinned blocks not referenced within the grace period and keeps pinned and recently referenced ones', async () => {
    const h = await anchorUnderTest()
    const [old, pinned, recent] = [await blockWhere([], () => true, 'old'), await blockWhere([], () => true, 'pinned'), await blockWhere([], () => true, 'recent')]
    await h.store.put(old.cid, old.bytes)
    await h.store.put(pinned.cid, pinned.bytes, [{ owner: PEER, expiresAt: Date.now() + HOUR }])
    await h.store.put(recent.cid, recent.bytes)
    await age(h, old.cid, GRACE + HOUR)
    await age(h, pinned.cid, GRACE + HOUR)
    await age(h, recent.cid, GRACE - HOUR)

    expect(await h.replicator.collectGarbage()).toBe(1)

    expect(h.store.has(old.cid)).toBe(false)
    expect(h.store.has(pinned.cid)).toBe(true)
    expect(h.store.has(recent.cid)).toBe(true)
    expect(await counter(h.metrics.gcDeletedBlocks)).toBe(1)
    expect(h.network.dials).toEqual([])
  })

  it('keeps the chunks a pinned manifest lists, touching them here and on their anchors, but not the chunks of an unpinned one', async () => {
    const h = await anchorUnderTest()
    const [kept, elsewhere, dropped] = [await blockWhere([], () => true, 'kept chunk'), await blockWhere([], () => true, 'remote chunk'), await blockWhere([], () => true, 'dropped chunk')]
    const manifestOf = async (chunks: TestBlock[]): Promise<{ cid: CID, bytes: Uint8Array }> => {
      const bytes = encode(JSON.stringify({ v: 1, chunks: chunks.map(c => ({ cid: c.cid.toString(), size: c.bytes.byteLength })), meta: '' }))
      return { cid: await cidOf(bytes, 'json'), bytes }
    }
    const pinnedManifest = await manifestOf([kept, elsewhere])
    const unpinnedManifest = await manifestOf([dropped])
    await h.store.put(pinnedManifest.cid, pinnedManifest.bytes, [{ owner: PEER, expiresAt: Date.now() + HOUR }])
    await h.store.put(unpinnedManifest.cid, unpinnedManifest.bytes)
    await h.store.put(kept.cid, kept.bytes)
    await h.store.put(dropped.cid, dropped.bytes)
    for (const cid of [pinnedManifest.cid, unpinnedManifest.cid, kept.cid, dropped.cid]) await age(h, cid, 2 * GRACE)
    const before = Date.now()

    expect(await h.replicator.collectGarbage()).toBe(2)

    expect(h.store.has(pinnedManifest.cid)).toBe(true)
    expect(h.store.has(kept.cid)).toBe(true)
    expect(h.store.lastReferenced(kept.cid)).toBeGreaterThanOrEqual(before - 1000)
    expect(h.store.has(unpinnedManifest.cid)).toBe(false)
    expect(h.store.has(dropped.cid)).toBe(false)
    // Each chunk's anchors (other than this one) are asked to mark it referenced.
    const touched = h.network.requests('has').flatMap(call => call.request.op === 'has' && call.request.touch === true ? call.request.cids.map(cid => `${call.to} ${cid}`) : [])
    const expected = [kept, elsewhere].flatMap(c => placeBlock(c.cid.toString(), h.fleet.readable, 3).filter(t => t !== SELF).map(t => `${t} ${c.cid.toString()}`))
    expect(touched.sort()).toEqual(expected.sort())
  })
})
