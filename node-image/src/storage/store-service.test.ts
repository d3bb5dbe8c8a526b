import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { CID_CODECS, MAX_BLOCK_BYTES, MAX_LEASES_PER_BLOCK } from '@meganet/contracts'
import { signStorageGrant, signingKeyFromSeed } from '@meganet/fleet-client'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { readHeader, storeFrames, storeRequest } from '../blocks/store-client.js'
import { StorageMetrics } from '../metrics/storage-metrics.js'
import { Blockstore } from './blockstore.js'
import { PeerLimits } from './peer-limits.js'
import { placeBlock, rankAnchors } from './placement.js'
import { MIN_PUT_CHARGE_BYTES, StoreService, leasedBytes } from './store-service.js'
import type { PeerLimitsInit } from './peer-limits.js'
import type { StorageFleet } from './storage-fleet.js'
import { A, B, C, D, FakeNetwork, OTHER_PEER, PEER, SELF, decode, encode, peerIdOf } from './fake-store-fleet.fixture.js'
import type { StoreRequest } from '@meganet/contracts'
import type { Connection } from '@libp2p/interface'

const PEER_ADDRESS = '/ip4/198.51.100.7/tcp/4001'
const TTL = 60_000

interface Harness {
  readonly dir: string
  readonly store: Blockstore
  readonly service: StoreService
  readonly network: FakeNetwork
  /** Who takes new blocks, and who may be read from (mutable). */
  readonly fleet: { placement: string[], readable: string[] }
  readonly limits: PeerLimits
  readonly metrics: StorageMetrics
  /** CIDs of the `stored` events. */
  readonly stored: string[]
}

interface HarnessOptions {
  readonly capacity?: number
  readonly writeQuorum?: number
  readonly limits?: PeerLimitsInit
  readonly maxInflightBytes?: number
  readonly grantKeys?: string[]
}

/** Removes each harness's directory, once the writes a put left running past its quorum are done. */
const cleanups: Array<() => Promise<void>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/** The anchor under test (SELF) on a real blockstore; A, B, C and D are fake anchors; R = 3, quorum 2. */
async function anchorUnderTest (options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'meganet-store-service-'))
  const store = await Blockstore.open(dir, options.capacity ?? 1024 * 1024)
  const writes = vi.spyOn(store, 'put')
  cleanups.push(async () => {
    await Promise.allSettled(writes.mock.results.map(result => result.value as unknown))
    await rm(dir, { recursive: true, force: true })
  })
  const network = new FakeNetwork([A, B, C, D])
  const fleet = { placement: [SELF, A, B, C], readable: [SELF, A, B, C] }
  const storageFleet: StorageFleet = {
    self: SELF,
    placementAnchors: () => [...fleet.placement],
    readableAnchors: () => [...fleet.readable],
    isMember: id => id === SELF || network.anchors.has(id)
  }
  const limits = new PeerLimits(options.limits ?? { bytesPerSecond: null, bytesPerDay: null })
  const metrics = new StorageMetrics(new Registry(), {
    storedBytes: () => store.usedBytes, blocks: () => store.blockCount, capacityBytes: () => store.capacityBytes,
    repairQueue: () => 0, underReplicated: () => 0, drainBlocksLeft: () => 0
  })
  const service = new StoreService(network.node, store, storageFleet, limits, metrics, {
    replication: 3,
    writeQuorum: options.writeQuorum ?? 2,
    leaseTtlMs: TTL,
    maxInflightBytes: options.maxInflightBytes ?? 64 * 1024 * 1024,
    grantKeys: options.grantKeys ?? []
  }, pino({ level: 'silent' }))
  const stored: string[] = []
  service.addEventListener('stored', event => { stored.push(event.detail.toString()) })
  return { dir, store, service, network, fleet, limits, metrics, stored }
}

interface TestBlock { readonly cid: CID, readonly bytes: Uint8Array, readonly text: string, readonly targets: string[] }

/** The first numbered block whose R = 3 anchors among `anchors` satisfy `where` (the same block every run). */
async function blockWhere (where: (targets: string[]) => boolean, options: { anchors?: string[], tag?: string } = {}): Promise<TestBlock> {
  for (let i = 0; i < 10_000; i++) {
    const text = `${options.tag ?? 'block'} ${i}`
    const bytes = encode(text)
    const cid = await cidOf(bytes, 'raw')
    const targets = placeBlock(cid.toString(), options.anchors ?? [SELF, A, B, C], 3)
    if (where(targets)) return { cid, bytes, text, targets }
  }
  throw new Error('no block is placed that way')
}

async function block (text: string): Promise<TestBlock> {
  const bytes = encode(text)
  const cid = await cidOf(bytes, 'raw')
  return { cid, bytes, text, targets: placeBlock(cid.toString(), [SELF, A, B, C], 3) }
}

function connectionFrom (peer: string): Connection {
  return { remotePeer: peerIdFromString(peer), remoteAddr: multiaddr(PEER_ADDRESS) } as unknown as Connection
}

/** One request to the anchor under test over a store stream, as `from` sends it (the real client). */
async function ask (service: StoreService, from: string, request: StoreRequest, data?: Uint8Array): Promise<Awaited<ReturnType<typeof storeRequest>>> {
  const [client, server] = await streamPair()
  const served = service.handle(server, connectionFrom(from))
  const dialer = { newStream: () => Promise.resolve(client) } as unknown as Connection
  try {
    return await storeRequest(dialer, undefined, request, data, 5_000)
  } finally {
    await served
  }
}

/** Sends a raw header frame and returns the reply header, whatever it is. */
async function askRaw (service: StoreService, from: string, header: Uint8Array): Promise<unknown> {
  const [client, server] = await streamPair()
  const served = service.handle(server, connectionFrom(from))
  const frames = storeFrames(client)
  const signal = AbortSignal.timeout(5_000)
  await frames.write(header, signal)
  const reply = await readHeader(frames, signal)
  await served
  return reply
}

const put = async (h: Harness, from: string, b: TestBlock, pin = false): Promise<Awaited<ReturnType<typeof storeRequest>>> =>
  await ask(h.service, from, { op: 'put', cid: b.cid.toString(), size: b.bytes.byteLength, ...(pin ? { pin } : {}) }, b.bytes)

function blockPath (h: Harness, cid: CID): string {
  const key = cid.toString()
  return join(h.dir, 'store', 'blocks', key.slice(-2), key)
}

async function counter (metric: StorageMetrics['repairedBlocks']): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0
}

describe('StoreService put', () => {
  it('writes a put to the R anchors placement picks, this one included, and answers once the write quorum holds it', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => targets.includes(SELF))
    const remote = b.targets.filter(t => t !== SELF)

    const { reply } = await put(h, PEER, b)

    expect(reply).toEqual({ ok: true, replicas: 2 })
    await vi.waitFor(async () => {
      for (const target of remote) expect(h.network.anchor(target).text(b.cid)).toBe(b.text)
      expect(decode(await h.store.get(b.cid))).toBe(b.text)
    })
    expect(h.network.requests('replicate').map(call => call.to).sort()).toEqual([...remote].sort())
    for (const call of h.network.requests('replicate')) expect(call.request).toEqual({ op: 'replicate', cid: b.cid.toString(), size: b.bytes.byteLength })
    expect(h.stored).toEqual([b.cid.toString()])
  })

  it('writes a block this anchor is not a target for to its three anchors only, keeping no copy here', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => !targets.includes(SELF))

    const { reply } = await put(h, PEER, b)

    expect(reply.replicas).toBe(2)
    await vi.waitFor(() => { for (const target of b.targets) expect(h.network.anchor(target).text(b.cid)).toBe(b.text) })
    expect(h.network.dials.sort()).toEqual([...b.targets].sort())
    expect(h.store.has(b.cid)).toBe(false)
    expect(h.stored).toEqual([])
  })

  it('acknowledges a put when one of the three targets is unreachable: the quorum of two is met', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => !targets.includes(SELF))
    const [down, ...up] = b.targets as [string, ...string[]]
    h.network.anchor(down).unreachable = true

    const { reply } = await put(h, PEER, b)

    expect(reply).toEqual({ ok: true, replicas: 2 })
    for (const target of up) expect(h.network.anchor(target).text(b.cid)).toBe(b.text)
    expect(h.network.dials).toContain(down)
    expect(h.network.anchor(down).blocks.size).toBe(0)
  })

  it('refuses with quorum_failed when fewer than the write quorum take the block, and gives back the pin\'s lease', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => !targets.includes(SELF))
    for (const target of b.targets.slice(0, 2)) h.network.anchor(target).unreachable = true

    await expect(put(h, PEER, b, true)).rejects.toMatchObject({ code: 'quorum_failed', message: expect.stringContaining('write quorum 2 of 3 not reached') as string })
    expect(h.limits.leases.get(PEER, b.cid.toString())).toBeUndefined()
    expect(h.limits.leases.size).toBe(0)
  })

  it('refuses with quorum_failed, writing nowhere, when fewer storage anchors are live than the write quorum', async () => {
    const h = await anchorUnderTest()
    h.fleet.placement = [SELF]
    const b = await block('alone')

    await expect(put(h, PEER, b)).rejects.toMatchObject({ code: 'quorum_failed', message: expect.stringContaining('only 1 storage anchor(s) available; the write quorum is 2') as string })
    expect(h.network.dials).toEqual([])
    expect(h.store.has(b.cid)).toBe(false)
  })

  it('answers store_full or rate_limited when anchors refusing for that reason sink the quorum', async () => {
    for (const code of ['store_full', 'rate_limited'] as const) {
      const h = await anchorUnderTest()
      const b = await blockWhere(targets => !targets.includes(SELF))
      for (const target of b.targets) h.network.anchor(target).refusing.set('replicate', code)

      await expect(put(h, PEER, b)).rejects.toMatchObject({ code })
      // The answer comes once two have refused; the third is asked all the same.
      await vi.waitFor(() => { expect(h.network.requests('replicate').map(call => call.to).sort()).toEqual([...b.targets].sort()) })
    }
  })

  it('still acknowledges a put when its own store is full but two other targets take the block', async () => {
    const h = await anchorUnderTest({ capacity: 4 })
    const b = await blockWhere(targets => targets.includes(SELF))

    const { reply } = await put(h, PEER, b)

    expect(reply.replicas).toBe(2)
    for (const target of b.targets.filter(t => t !== SELF)) expect(h.network.anchor(target).text(b.cid)).toBe(b.text)
    expect(h.store.has(b.cid)).toBe(false)
  })

  it('refuses a peer\'s put with draining while draining, but still takes a fellow anchor\'s replica', async () => {
    const h = await anchorUnderTest()
    h.service.setAccepting(false)
    const b = await block('while draining')

    await expect(put(h, PEER, b)).rejects.toMatchObject({ code: 'draining' })
    expect(h.network.dials).toEqual([])
    const { reply } = await ask(h.service, A, { op: 'replicate', cid: b.cid.toString(), size: b.bytes.byteLength }, b.bytes)
    expect(reply).toEqual({ ok: true, replicas: 1 })
    expect(decode(await h.store.get(b.cid))).toBe(b.text)

    h.service.setAccepting(true)
    expect((await put(h, PEER, await block('after draining'))).reply.ok).toBe(true)
  })

  it('charges every put at least MIN_PUT_CHARGE_BYTES against the peer\'s daily quota and refuses past it with quota_exceeded', async () => {
    const h = await anchorUnderTest({ limits: { bytesPerSecond: null, bytesPerDay: 2 * MIN_PUT_CHARGE_BYTES } })
    const [first, second, third] = [await block('tiny 1'), await block('tiny 2'), await block('tiny 3')]

    await put(h, PEER, first)
    await put(h, PEER, second)
    await expect(put(h, PEER, third)).rejects.toMatchObject({ code: 'quota_exceeded', message: expect.stringContaining(`daily quota of ${2 * MIN_PUT_CHARGE_BYTES} bytes reached`) as string })

    expect(h.network.requests('replicate').filter(call => call.request.op === 'replicate' && call.request.cid === third.cid.toString())).toEqual([])
    // Another PeerId has its own quota; a fellow anchor is not limited at all.
    expect((await put(h, OTHER_PEER, third)).reply.ok).toBe(true)
    expect((await put(h, A, await block('from an anchor'))).reply.ok).toBe(true)
  })

  it('refuses a block past the peers\' share of the in-flight budget with rate_limited, but not a fellow anchor\'s', async () => {
    // 3000 bytes in flight: peers may hold 2250, one network a third of that (750).
    const h = await anchorUnderTest({ maxInflightBytes: 3000 })
    const sized = async (size: number, fill: number): Promise<TestBlock> => {
      const bytes = new Uint8Array(size).fill(fill)
      const cid = await cidOf(bytes, 'raw')
      return { cid, bytes, text: '', targets: [] }
    }
    const big = await sized(1000, 1)

    await expect(put(h, PEER, big)).rejects.toMatchObject({ code: 'rate_limited' })
    expect(h.network.dials).toEqual([])
    expect((await put(h, PEER, await sized(700, 2))).reply.ok).toBe(true)
    expect((await put(h, A, await sized(2500, 3))).reply.ok).toBe(true)
  })

  it('refuses a block that does not hash to its CID with cid_mismatch and stores it nowhere', async () => {
    const h = await anchorUnderTest()
    const b = await block('claimed')
    const other = encode('sent instead')

    await expect(ask(h.service, PEER, { op: 'put', cid: b.cid.toString(), size: other.byteLength }, other)).rejects.toMatchObject({ code: 'cid_mismatch' })
    expect(h.network.dials).toEqual([])
    expect(h.store.blockCount).toBe(0)
  })

  it('refuses a block frame longer than the header said as malformed, and a size over MAX_BLOCK_BYTES as too_large', async () => {
    const h = await anchorUnderTest()
    const b = await block('eleven char')

    await expect(ask(h.service, PEER, { op: 'put', cid: b.cid.toString(), size: b.bytes.byteLength - 1 }, b.bytes)).rejects.toMatchObject({ code: 'malformed' })
    await expect(ask(h.service, PEER, { op: 'put', cid: b.cid.toString(), size: MAX_BLOCK_BYTES + 1 }, b.bytes)).rejects.toMatchObject({ code: 'too_large' })
    expect(h.store.blockCount).toBe(0)
    expect(h.network.dials).toEqual([])
  })
})

describe('StoreService refusals of bad requests and of non-members', () => {
  it('answers malformed to a header that is not JSON, is not a store request, or names a CID of a codec it does not store', async () => {
    const h = await anchorUnderTest()
    const dagPb = CID.createV1(0x70, await sha256.digest(encode('dag-pb'))).toString()

    expect(await askRaw(h.service, PEER, encode('not json'))).toMatchObject({ ok: false, code: 'malformed' })
    expect(await askRaw(h.service, PEER, encode(JSON.stringify({ op: 'explode' })))).toMatchObject({ ok: false, code: 'malformed' })
    await expect(ask(h.service, PEER, { op: 'has', cids: [dagPb] })).rejects.toMatchObject({ code: 'malformed', message: expect.stringContaining('only raw and json blocks are stored') as string })
    await expect(ask(h.service, PEER, { op: 'get', cid: dagPb })).rejects.toMatchObject({ code: 'malformed' })
    expect(h.network.dials).toEqual([])
  })

  it('answers forbidden to a replicate or a lease from a peer that is not a fleet member, and stores nothing', async () => {
    const h = await anchorUnderTest()
    const b = await block('smuggled')
    await h.store.put(b.cid, b.bytes)

    await expect(ask(h.service, PEER, { op: 'replicate', cid: (await block('other')).cid.toString(), size: 5 }, encode('other'))).rejects.toMatchObject({ code: 'forbidden' })
    await expect(ask(h.service, PEER, { op: 'lease', cid: b.cid.toString(), lease: { owner: PEER, expiresAt: Date.now() + TTL } })).rejects.toMatchObject({ code: 'forbidden' })

    expect(h.store.blockCount).toBe(1)
    expect(h.store.info(b.cid)?.leases).toEqual([])
  })

  it('stores a member\'s replicate here only, with the leases it carries, and leases it to the sender when it pins', async () => {
    const h = await anchorUnderTest()
    const b = await block('replica')
    const carried = { owner: PEER, expiresAt: Date.now() + 5 * TTL }
    const before = Date.now()

    const { reply } = await ask(h.service, A, { op: 'replicate', cid: b.cid.toString(), size: b.bytes.byteLength, leases: [carried], pin: true }, b.bytes)

    expect(reply).toEqual({ ok: true, replicas: 1 })
    expect(decode(await h.store.get(b.cid))).toBe(b.text)
    const leases = h.store.info(b.cid)?.leases ?? []
    expect(leases.find(lease => lease.owner === PEER)).toEqual(carried)
    const own = leases.find(lease => lease.owner === A)
    expect(own?.expiresAt).toBeGreaterThanOrEqual(before + TTL)
    expect(own?.expiresAt).toBeLessThanOrEqual(Date.now() + TTL)
    expect(h.network.dials).toEqual([])
    expect(h.stored).toEqual([b.cid.toString()])
    // A block already here is not announced again.
    await ask(h.service, B, { op: 'replicate', cid: b.cid.toString(), size: b.bytes.byteLength }, b.bytes)
    expect(h.stored).toEqual([b.cid.toString()])
  })

  it('accepts a storage grant signed by a trusted key, which lifts the quota; refuses one from another key as malformed', async () => {
    const trusted = signingKeyFromSeed(new Uint8Array(32).fill(200))
    const stranger = signingKeyFromSeed(new Uint8Array(32).fill(201))
    const h = await anchorUnderTest({ limits: { bytesPerSecond: null, bytesPerDay: MIN_PUT_CHARGE_BYTES }, grantKeys: [trusted.publicKey.toString()] })
    const now = Date.now()
    const grant = { holder: PEER, issuedAt: now, expiresAt: now + TTL, bytesPerDay: null, leaseBytes: null }
    await put(h, PEER, await block('within quota'))
    await expect(put(h, PEER, await block('past quota'))).rejects.toMatchObject({ code: 'quota_exceeded' })

    await expect(ask(h.service, PEER, { op: 'grant', token: await signStorageGrant(stranger, grant) })).rejects.toMatchObject({ code: 'malformed', message: expect.stringContaining('does not trust') as string })
    await expect(ask(h.service, OTHER_PEER, { op: 'grant', token: await signStorageGrant(trusted, grant) })).rejects.toMatchObject({ code: 'malformed' })
    await expect(put(h, PEER, await block('past quota'))).rejects.toMatchObject({ code: 'quota_exceeded' })

    const { reply } = await ask(h.service, PEER, { op: 'grant', token: await signStorageGrant(trusted, grant) })
    expect(reply).toEqual({ ok: true, grantExpiresAt: now + TTL })
    expect((await put(h, PEER, await block('past quota'))).reply.ok).toBe(true)
  })
})

describe('StoreService get and has', () => {
  it('serves a block stored here without asking other anchors', async () => {
    const h = await anchorUnderTest()
    const b = await block('local')
    await h.store.put(b.cid, b.bytes)

    const { reply, block: data } = await ask(h.service, PEER, { op: 'get', cid: b.cid.toString() })

    expect(reply).toEqual({ ok: true, size: b.bytes.byteLength })
    expect(decode(data)).toBe(b.text)
    expect(h.network.dials).toEqual([])
  })

  it('fetches a block it lacks from the other anchors in rank order, skips a copy that does not match its CID, and keeps none', async () => {
    const h = await anchorUnderTest()
    const b = await block('elsewhere')
    const [first, second, third] = rankAnchors(b.cid.toString(), [SELF, A, B, C]).filter(a => a !== SELF) as [string, string, string]
    h.network.anchor(first).hold(b.cid, b.bytes)
    h.network.anchor(first).tampered = true
    h.network.anchor(second).hold(b.cid, b.bytes)
    h.network.anchor(third).hold(b.cid, b.bytes)

    const { block: data } = await ask(h.service, PEER, { op: 'get', cid: b.cid.toString() })

    expect(decode(data)).toBe(b.text)
    expect(h.network.dials).toEqual([first, second])
    expect(h.network.requests('get').map(call => call.request)).toEqual([
      { op: 'get', cid: b.cid.toString(), local: true }, { op: 'get', cid: b.cid.toString(), local: true }
    ])
    expect(h.store.has(b.cid)).toBe(false)
    expect(h.stored).toEqual([])
  })

  it('replaces a corrupt local copy with one fetched from another anchor', async () => {
    const h = await anchorUnderTest()
    const b = await block('bit rot')
    await h.store.put(b.cid, b.bytes)
    await writeFile(blockPath(h, b.cid), encode('bit rOt'))
    const [first] = rankAnchors(b.cid.toString(), [A, B, C]) as [string]
    h.network.anchor(first).hold(b.cid, b.bytes)

    const { block: data } = await ask(h.service, PEER, { op: 'get', cid: b.cid.toString() })

    expect(decode(data)).toBe(b.text)
    expect(decode(await h.store.get(b.cid))).toBe(b.text)
    expect(await counter(h.metrics.corruptBlocks)).toBe(1)
    expect(await counter(h.metrics.repairedBlocks)).toBe(1)
    expect(h.stored).toEqual([b.cid.toString()])
  })

  it('answers not_found when no reachable anchor holds the block, after asking each; a local get asks none', async () => {
    const h = await anchorUnderTest()
    const b = await block('nowhere')
    h.network.anchor(A).unreachable = true

    await expect(ask(h.service, PEER, { op: 'get', cid: b.cid.toString() })).rejects.toMatchObject({ code: 'not_found' })
    expect([...h.network.dials].sort()).toEqual([A, B, C].sort())

    h.network.anchor(B).hold(b.cid, b.bytes)
    h.network.dials.length = 0
    await expect(ask(h.service, C, { op: 'get', cid: b.cid.toString(), local: true })).rejects.toMatchObject({ code: 'not_found' })
    expect(h.network.dials).toEqual([])
  })

  it('answers corrupt to a local get of a block whose bytes on disk no longer match, and drops that copy', async () => {
    const h = await anchorUnderTest()
    const b = await block('rotten')
    await h.store.put(b.cid, b.bytes)
    await writeFile(blockPath(h, b.cid), encode('rotted'))

    await expect(ask(h.service, A, { op: 'get', cid: b.cid.toString(), local: true })).rejects.toMatchObject({ code: 'corrupt' })
    expect(h.store.has(b.cid)).toBe(false)
    expect(h.network.dials).toEqual([])
  })

  it('answers has for each CID in order, and marks blocks referenced only when a fellow anchor asks it to touch them', async () => {
    const h = await anchorUnderTest()
    const here = await block('here')
    const absent = await block('absent')
    await h.store.put(here.cid, here.bytes)
    const old = new Date(Date.now() - 3_600_000)
    await h.store.touch(here.cid, old)

    const { reply } = await ask(h.service, PEER, { op: 'has', cids: [absent.cid.toString(), here.cid.toString()], touch: true })
    expect(reply).toEqual({ ok: true, has: [false, true] })
    expect(h.store.lastReferenced(here.cid)).toBeLessThanOrEqual(old.getTime() + 1000)

    const before = Date.now()
    await ask(h.service, A, { op: 'has', cids: [here.cid.toString()], touch: true })
    expect(h.store.lastReferenced(here.cid)).toBeGreaterThanOrEqual(before - 1000)
  })
})

describe('StoreService pins (leases)', () => {
  it('leases a pinned put to its requester here and on every anchor it is written to, and charges the lease', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => targets.includes(SELF))
    const before = Date.now()

    const { reply } = await put(h, PEER, b, true)

    const expiresAt = reply.leaseExpiresAt ?? 0
    expect(expiresAt).toBeGreaterThanOrEqual(before + TTL)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + TTL)
    const lease = { owner: PEER, expiresAt }
    await vi.waitFor(() => {
      expect(h.store.info(b.cid)?.leases).toEqual([lease])
      expect(h.network.requests('replicate')).toHaveLength(2)
    })
    for (const call of h.network.requests('replicate')) {
      expect(call.request).toEqual({ op: 'replicate', cid: b.cid.toString(), size: b.bytes.byteLength, leases: [lease] })
      expect(h.network.anchor(call.to).blocks.get(b.cid.toString())?.leases).toEqual([lease])
    }
    expect(h.limits.leases.get(PEER, b.cid.toString())).toEqual({ bytes: MIN_PUT_CHARGE_BYTES, expiresAt, network: '198.51.100.0/24' })
  })

  it('pins a stored block on its anchors and answers how many took the lease; unpin releases it there and here', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => targets.includes(SELF))
    const remote = b.targets.filter(t => t !== SELF)
    await h.store.put(b.cid, b.bytes)
    for (const target of remote) h.network.anchor(target).hold(b.cid, b.bytes)

    const { reply } = await ask(h.service, PEER, { op: 'pin', cid: b.cid.toString() })

    expect(reply.replicas).toBe(3)
    const lease = { owner: PEER, expiresAt: reply.leaseExpiresAt ?? 0 }
    expect(h.store.info(b.cid)?.leases).toEqual([lease])
    expect(h.network.requests('lease').map(call => call.to).sort()).toEqual([...remote].sort())
    for (const target of remote) expect(h.network.anchor(target).blocks.get(b.cid.toString())?.leases).toEqual([lease])
    expect(h.limits.leases.get(PEER, b.cid.toString())?.expiresAt).toBe(lease.expiresAt)

    expect((await ask(h.service, PEER, { op: 'unpin', cid: b.cid.toString() })).reply).toEqual({ ok: true })

    expect(h.store.info(b.cid)?.leases).toEqual([])
    for (const target of remote) expect(h.network.anchor(target).blocks.get(b.cid.toString())?.leases).toEqual([])
    expect(h.network.requests('lease').slice(2).map(call => call.request)).toEqual([
      { op: 'lease', cid: b.cid.toString(), lease: { owner: PEER, expiresAt: 0 } },
      { op: 'lease', cid: b.cid.toString(), lease: { owner: PEER, expiresAt: 0 } }
    ])
    expect(h.limits.leases.get(PEER, b.cid.toString())).toBeUndefined()
  })

  it('counts the anchors that hold the block when one of them is down', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => targets.includes(SELF))
    const [down, up] = b.targets.filter(t => t !== SELF) as [string, string]
    await h.store.put(b.cid, b.bytes)
    h.network.anchor(down).hold(b.cid, b.bytes)
    h.network.anchor(down).unreachable = true
    h.network.anchor(up).hold(b.cid, b.bytes)

    const { reply } = await ask(h.service, PEER, { op: 'pin', cid: b.cid.toString() })

    expect(reply.replicas).toBe(2)
    expect(h.network.anchor(up).blocks.get(b.cid.toString())?.leases).toHaveLength(1)
  })

  it('refuses a pin with not_found, giving the lease back, when none of the block\'s anchors holds it', async () => {
    const h = await anchorUnderTest()
    h.fleet.readable = [SELF, A, B, C, D]
    const b = await blockWhere(targets => !targets.includes(D), { anchors: [SELF, A, B, C, D] })
    // Only D, which is not among the block's three anchors, has a copy: the get finds it, the lease lands nowhere.
    h.network.anchor(D).hold(b.cid, b.bytes)

    await expect(ask(h.service, PEER, { op: 'pin', cid: b.cid.toString() })).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('took the lease') as string })

    expect(h.network.dials).toContain(D)
    expect(h.network.requests('lease').map(call => call.to).sort()).toEqual(b.targets.filter(t => t !== SELF).sort())
    expect(h.network.anchor(D).blocks.get(b.cid.toString())?.leases).toEqual([])
    expect(h.limits.leases.size).toBe(0)
  })

  it('charges a pinned manifest with the chunks it lists, so a small manifest can exceed the lease quota', async () => {
    const h = await anchorUnderTest({ limits: { bytesPerSecond: null, bytesPerDay: null, leaseBytes: 10_000 } })
    const chunks = [await block('chunk 1'), await block('chunk 2')]
    const bytes = encode(JSON.stringify({ v: 1, chunks: chunks.map(c => ({ cid: c.cid.toString(), size: 6000 })), meta: '' }))
    const manifest = { cid: await cidOf(bytes, 'json'), bytes, text: '', targets: [] }

    await expect(put(h, PEER, manifest, true)).rejects.toMatchObject({ code: 'quota_exceeded', message: expect.stringContaining('lease quota of 10000 bytes') as string })
    expect(h.network.dials).toEqual([])
    expect(h.store.blockCount).toBe(0)

    expect((await put(h, PEER, manifest, false)).reply.leaseExpiresAt).toBeUndefined()
    expect((await put(h, PEER, chunks[0]!, true)).reply.ok).toBe(true)
    expect(h.limits.leases.get(PEER, chunks[0]!.cid.toString())?.bytes).toBe(MIN_PUT_CHARGE_BYTES)
  })

  it('sets a fellow anchor\'s lease on a block held here, answers whether it holds it, and refuses past the owners a block may have', async () => {
    const h = await anchorUnderTest()
    const b = await block('leased')
    const missing = await block('missing')
    await h.store.put(b.cid, b.bytes)
    const lease = { owner: PEER, expiresAt: Date.now() + TTL }

    expect((await ask(h.service, A, { op: 'lease', cid: b.cid.toString(), lease })).reply).toEqual({ ok: true, has: [true] })
    expect(h.store.info(b.cid)?.leases).toEqual([lease])
    expect((await ask(h.service, A, { op: 'lease', cid: missing.cid.toString(), lease })).reply).toEqual({ ok: true, has: [false] })

    for (let i = 1; i < MAX_LEASES_PER_BLOCK; i++) await h.store.setLease(b.cid, { owner: peerIdOf(110 + i), expiresAt: Date.now() + TTL })
    await expect(ask(h.service, A, { op: 'lease', cid: b.cid.toString(), lease: { owner: OTHER_PEER, expiresAt: Date.now() + TTL } })).rejects.toMatchObject({ code: 'quota_exceeded' })
    expect(h.store.info(b.cid)?.leases).toHaveLength(MAX_LEASES_PER_BLOCK)
  })
})

describe('StoreService answers that say what happened', () => {
  it('answers store_full when its own full store sinks the quorum', async () => {
    const h = await anchorUnderTest({ capacity: 4, writeQuorum: 1 })
    h.fleet.placement = [SELF]
    const b = await block('twenty-one bytes long')
    await expect(put(h, PEER, b)).rejects.toMatchObject({ code: 'store_full' })
  })

  it('answers quorum_failed, whatever order the failures come in, when they are of different kinds', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => !targets.includes(SELF))
    const [full, down] = b.targets as [string, string, string]
    h.network.anchor(full).refusing.set('replicate', 'store_full')
    h.network.anchor(down).unreachable = true
    await expect(put(h, PEER, b)).rejects.toMatchObject({ code: 'quorum_failed' })
  })

  it('charges nothing and leaves no lease when a pin is refused because the block has all the owners it may have', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => targets.includes(SELF))
    await h.store.put(b.cid, b.bytes)
    for (let i = 0; i < MAX_LEASES_PER_BLOCK; i++) await h.store.setLease(b.cid, { owner: peerIdOf(110 + i), expiresAt: Date.now() + TTL })
    await expect(ask(h.service, PEER, { op: 'pin', cid: b.cid.toString() })).rejects.toMatchObject({ code: 'quota_exceeded' })
    expect(h.limits.leases.get(PEER, b.cid.toString())).toBeUndefined()
    expect(h.store.info(b.cid)?.leases.some(l => l.owner === PEER)).toBe(false)
  })

  it('refuses a pinned put of a block here that has all the owners it may have, rather than answer a pin it did not keep', async () => {
    const h = await anchorUnderTest()
    const b = await blockWhere(targets => targets.includes(SELF))
    await h.store.put(b.cid, b.bytes)
    for (let i = 0; i < MAX_LEASES_PER_BLOCK; i++) await h.store.setLease(b.cid, { owner: peerIdOf(110 + i), expiresAt: Date.now() + TTL })
    await expect(put(h, PEER, b, true)).rejects.toMatchObject({ code: 'quota_exceeded' })
    expect(h.limits.leases.get(PEER, b.cid.toString())).toBeUndefined()
  })
})

describe('leasedBytes', () => {
  it('is the block\'s size, plus for a manifest the sizes of the chunks it lists', async () => {
    const raw = encode('raw bytes')
    expect(leasedBytes(await cidOf(raw, 'raw'), raw)).toBe(raw.byteLength)
    const chunk = await block('chunk')
    const manifest = encode(JSON.stringify({ v: 1, chunks: [{ cid: chunk.cid.toString(), size: 1000 }, { cid: chunk.cid.toString(), size: 2500 }], meta: '' }))
    expect(leasedBytes(await cidOf(manifest, 'json'), manifest)).toBe(manifest.byteLength + 3500)
    // The same bytes under a raw CID, or JSON that is not a manifest, count as themselves.
    expect(leasedBytes(await cidOf(manifest, 'raw'), manifest)).toBe(manifest.byteLength)
    const notManifest = encode('{"v":2}')
    expect(leasedBytes(CID.createV1(CID_CODECS.json, await sha256.digest(notManifest)), notManifest)).toBe(notManifest.byteLength)
  })
})
