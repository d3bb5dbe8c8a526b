import { TypedEventEmitter } from 'main-event'
import { CID_CODECS, MAX_BLOCK_BYTES, MAX_LEASES_PER_BLOCK, manifestSchema } from '@meganet/contracts'
import { verifyStorageGrant } from '@meganet/fleet-client'
import { peerIdFromString } from '@libp2p/peer-id'
import { CidError, matchesCid, parseCid } from '../blocks/cid.js'
import { decodeStoreRequest, encodeHeader, isStoreError, readFrame, storeFrames, storeRequest } from '../blocks/store-client.js'
import { ByteBudget } from '../net/byte-budget.js'
import { FrameRefusedError, FrameTooLargeError } from '../net/bounded-frames.js'
import { networkOf } from '../net/ip-prefix.js'
import { CorruptBlockError, LeaseLimitError, StoreFullError } from './blockstore.js'
import { blockMatchesCid } from './block-bytes.js'
import { placeBlock } from './placement.js'
import type { Logger } from '../logging/logger.js'
import type { InflightMetrics } from '../metrics/inflight-metrics.js'
import type { StorageMetrics } from '../metrics/storage-metrics.js'
import type { BoundedFrames } from '../net/bounded-frames.js'
import type { Release } from '../net/byte-budget.js'
import type { BlockBytes } from './block-bytes.js'
import type { Blockstore } from './blockstore.js'
import type { PeerLimits, Uploader } from './peer-limits.js'
import type { StorageFleet } from './storage-fleet.js'
import type { Lease, StoreErrorCode, StoreReply, StoreRequest } from '@meganet/contracts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

const REQUEST_TIMEOUT_MS = 60_000
/**
 * The least a put is charged against the limits: a block costs a file, a DHT announcement and a
 * request whatever its size, so a flood of empty blocks is not free.
 */
export const MIN_PUT_CHARGE_BYTES = 4096
/** Peers together may hold this share of the in-flight budget; the rest is the fleet's (replication, repair). */
const PEER_BUDGET_SHARE = 0.75
/** One network may hold this share of the peers' budget. */
const NETWORK_BUDGET_SHARE = 1 / 3

export interface StoreServiceInit {
  readonly replication: number
  readonly writeQuorum: number
  /** How long a pin (lease) lasts unless renewed. */
  readonly leaseTtlMs: number
  /** Bytes of blocks requests in flight may hold in memory, all together. */
  readonly maxInflightBytes: number
  /** PeerIds of the keys whose storage grants this anchor honours. */
  readonly grantKeys: readonly string[]
}

/** A refusal to send back to the requester. */
class Refusal extends Error {
  readonly code: StoreErrorCode
  constructor (code: StoreErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

export interface StoreServiceEvents {
  /** A block newly stored here (to announce it in the DHT). */
  stored: CustomEvent<CID>
}

/** Who asks, and where from: fellow anchors are trusted with replication and not limited like peers. */
interface Requester extends Uploader {
  readonly member: boolean
}

function parse (text: string): CID {
  try {
    return parseCid(text)
  } catch (err) {
    if (err instanceof CidError) throw new Refusal('malformed', err.message)
    throw err
  }
}

/**
 * Serves `/meganet/store/1.0.0`. A `put` is verified against its CID, placed on the
 * `replication` anchors that rendezvous hashing picks from the live membership, and
 * acknowledged once `writeQuorum` of them hold it; a `get` is served locally or fetched from
 * the block's anchors. Everything read is checked against its CID. Lengths are checked before
 * anything is buffered, and blocks in flight share one memory budget: a request that would go
 * over it is refused (`rate_limited`), never queued. Pins are leases of their requester.
 */
export class StoreService extends TypedEventEmitter<StoreServiceEvents> {
  private readonly node: Libp2p
  private readonly store: Blockstore
  private readonly fleet: StorageFleet
  private readonly limits: PeerLimits
  private readonly metrics: StorageMetrics
  private readonly inflight?: InflightMetrics
  private readonly init: StoreServiceInit
  private readonly log: Logger
  private readonly budget: ByteBudget
  private readonly peerBudget: ByteBudget
  private readonly grantKeys: ReadonlySet<string>
  private accepting = true

  constructor (node: Libp2p, store: Blockstore, fleet: StorageFleet, limits: PeerLimits, metrics: StorageMetrics, init: StoreServiceInit, log: Logger, inflight?: InflightMetrics) {
    super()
    this.node = node
    this.store = store
    this.fleet = fleet
    this.limits = limits
    this.metrics = metrics
    this.init = init
    this.log = log.child({ component: 'store' })
    this.budget = new ByteBudget({ limit: init.maxInflightBytes, holderShare: 1 })
    this.peerBudget = new ByteBudget({ limit: Math.floor(init.maxInflightBytes * PEER_BUDGET_SHARE), holderShare: NETWORK_BUDGET_SHARE })
    this.grantKeys = new Set(init.grantKeys)
    if (inflight != null) {
      this.inflight = inflight
      inflight.track('store', this.budget)
    }
  }

  /** While draining, puts from peers are refused; replicas from the fleet still land. */
  setAccepting (accepting: boolean): void {
    this.accepting = accepting
  }

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const frames = storeFrames(stream)
    const peer = connection.remotePeer.toString()
    const member = this.fleet.isMember(peer)
    const network = member ? undefined : networkOf(connection.remoteAddr)
    const requester: Requester = { peer, member, ...(network != null ? { network } : {}) }
    const held: Release[] = []
    let op = 'invalid'
    try {
      const request = await this.readRequest(frames, signal)
      op = request.op
      let block: BlockBytes | undefined
      if (request.op === 'put' || request.op === 'replicate') block = await this.receiveBlock(request, frames, signal, requester, held)
      const { reply, data } = await this.serve(request, requester, held, block)
      await frames.write(encodeHeader(reply), signal)
      if (data != null) await frames.write(data, signal)
      this.metrics.operations.inc({ op, outcome: 'ok' })
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      const refusal = err instanceof Refusal
      this.metrics.operations.inc({ op, outcome: refusal ? 'refused' : 'error' })
      if (!refusal) this.log.warn({ op, err: (err as Error).message }, 'store request failed')
      const reply: StoreReply = { ok: false, code: refusal ? err.code : 'internal', error: (err as Error).message.slice(0, 1000) }
      try {
        await frames.write(encodeHeader(reply), signal)
        await stream.close({ signal })
      } catch {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    } finally {
      for (const release of held) release()
    }
  }

  /** The request header: too long is `too_large`, anything but a valid request `malformed`. */
  private async readRequest (frames: BoundedFrames, signal: AbortSignal): Promise<StoreRequest> {
    try {
      return decodeStoreRequest(await readFrame(frames, signal))
    } catch (err) {
      if (isStoreError(err, 'too_large') || isStoreError(err, 'malformed')) throw new Refusal(err.code === 'too_large' ? 'too_large' : 'malformed', err.message)
      throw err
    }
  }

  /** Takes `bytes` of the in-flight budget for this request, or refuses it at once. */
  private reserve (bytes: number, requester: Requester, held: Release[]): void {
    const fromPeers = requester.member ? undefined : this.peerBudget.tryAcquire(bytes, requester.network)
    const total = requester.member || fromPeers != null ? this.budget.tryAcquire(bytes) : undefined
    if (total == null) {
      fromPeers?.()
      this.inflight?.refused.inc({ protocol: 'store' })
      throw new Refusal('rate_limited', 'too many blocks in flight on this anchor; retry shortly')
    }
    held.push(total)
    if (fromPeers != null) held.push(fromPeers)
  }

  private async receiveBlock (request: Extract<StoreRequest, { op: 'put' | 'replicate' }>, frames: BoundedFrames, signal: AbortSignal, requester: Requester, held: Release[]): Promise<BlockBytes> {
    if (request.size > MAX_BLOCK_BYTES) throw new Refusal('too_large', `block of ${request.size} bytes exceeds ${MAX_BLOCK_BYTES}`)
    this.reserve(request.size, requester, held)
    let block: BlockBytes
    try {
      block = await frames.read({ maxLength: MAX_BLOCK_BYTES, signal, admit: length => length === request.size })
    } catch (err) {
      if (err instanceof FrameTooLargeError) throw new Refusal('too_large', `block frame exceeds ${MAX_BLOCK_BYTES} bytes`)
      if (err instanceof FrameRefusedError) throw new Refusal('malformed', `block frame length differs from the ${request.size} bytes the header said`)
      throw err
    }
    if (!blockMatchesCid(parse(request.cid), block)) throw new Refusal('cid_mismatch', `block does not hash to ${request.cid}`)
    return block
  }

  private async serve (request: StoreRequest, requester: Requester, held: Release[], block?: BlockBytes): Promise<{ reply: Extract<StoreReply, { ok: true }>, data?: Uint8Array }> {
    switch (request.op) {
      case 'put': return { reply: await this.put(request.cid, block ?? new Uint8Array(), request.pin === true, requester) }
      case 'replicate': {
        if (!requester.member) throw new Refusal('forbidden', 'replicate is for anchors of this fleet')
        const leases = [...(request.leases ?? []), ...(request.pin === true ? [{ owner: requester.peer, expiresAt: Date.now() + this.init.leaseTtlMs }] : [])]
        await this.storeLocally(parse(request.cid), block ?? new Uint8Array(), leases)
        return { reply: { ok: true, replicas: 1 } }
      }
      case 'has': {
        const cids = request.cids.map(text => parse(text))
        if (request.touch === true && requester.member) await Promise.all(cids.filter(c => this.store.has(c)).map(async c => await this.store.touch(c)))
        return { reply: { ok: true, has: cids.map(c => this.store.has(c)) } }
      }
      case 'get': {
        const cid = parse(request.cid)
        this.reserve(this.store.info(cid)?.size ?? MAX_BLOCK_BYTES, requester, held)
        const data = request.local === true ? await this.getLocal(cid) : await this.get(cid)
        return { reply: { ok: true, size: data.byteLength }, data }
      }
      case 'pin': {
        const cid = parse(request.cid)
        this.reserve(this.store.info(cid)?.size ?? MAX_BLOCK_BYTES, requester, held)
        const block = await this.get(cid)
        const expiresAt = Date.now() + this.init.leaseTtlMs
        this.admitLease(requester, request.cid, block, expiresAt)
        let holders: number
        try {
          holders = await this.applyLease(cid, { owner: requester.peer, expiresAt })
        } catch (err) {
          // Refused here (the block has all the owners it may have): charge nothing, and take the
          // lease back from anchors that did set it, so the answer and the state agree.
          this.limits.releaseLease(requester.peer, request.cid)
          await this.applyLease(cid, { owner: requester.peer, expiresAt: 0 }).catch(() => 0)
          throw err
        }
        if (holders === 0) {
          this.limits.releaseLease(requester.peer, request.cid)
          throw new Refusal('not_found', `no anchor holding ${request.cid} took the lease`)
        }
        return { reply: { ok: true, replicas: holders, leaseExpiresAt: expiresAt } }
      }
      case 'unpin': {
        const cid = parse(request.cid)
        this.limits.releaseLease(requester.peer, request.cid)
        await this.applyLease(cid, { owner: requester.peer, expiresAt: 0 })
        return { reply: { ok: true } }
      }
      case 'lease': {
        if (!requester.member) throw new Refusal('forbidden', 'lease is for anchors of this fleet')
        const held = await this.setLease(parse(request.cid), request.lease)
        return { reply: { ok: true, has: [held] } }
      }
      case 'grant': {
        const verified = verifyStorageGrant(request.token, { holder: requester.peer, trusted: this.grantKeys })
        if (!verified.ok) throw new Refusal('malformed', `storage grant refused: ${verified.message}`)
        this.limits.grant(verified.value)
        return { reply: { ok: true, grantExpiresAt: verified.value.expiresAt } }
      }
    }
  }

  /** Charges a lease to its owner: the block, and for a manifest every chunk it lists. */
  private admitLease (requester: Requester, cidText: string, block: BlockBytes, expiresAt: number): void {
    const admission = this.limits.admitLease(requester, cidText, Math.max(leasedBytes(parse(cidText), block), MIN_PUT_CHARGE_BYTES), expiresAt)
    if (!admission.ok) throw new Refusal(admission.code, admission.message)
  }

  /** Sets a lease on the block's anchors (here too, if this is one); returns how many hold the block. */
  private async applyLease (cid: CID, lease: Lease): Promise<number> {
    const text = cid.toString()
    const targets = placeBlock(text, this.fleet.readableAnchors(), this.init.replication)
    const results = await Promise.all(targets.map(async target => {
      if (target === this.fleet.self) return await this.setLease(cid, lease)
      try {
        const { reply } = await storeRequest(this.node, peerIdFromString(target), { op: 'lease', cid: text, lease })
        return reply.has?.[0] === true
      } catch {
        return false
      }
    }))
    return results.filter(Boolean).length
  }

  private async setLease (cid: CID, lease: Lease): Promise<boolean> {
    try {
      return await this.store.setLease(cid, lease)
    } catch (err) {
      if (err instanceof LeaseLimitError) throw new Refusal('quota_exceeded', err.message)
      throw err
    }
  }

  /** Places a verified block on its anchors and answers once the quorum holds it. */
  async put (cidText: string, block: BlockBytes, pin: boolean, requester: Requester): Promise<Extract<StoreReply, { ok: true }>> {
    if (!this.accepting) throw new Refusal('draining', 'this anchor is draining: put the block through another anchor')
    if (!requester.member) {
      const admission = this.limits.admit(requester, Math.max(block.byteLength, MIN_PUT_CHARGE_BYTES), { pinned: pin })
      if (!admission.ok) throw new Refusal(admission.code, admission.message)
    }
    const expiresAt = Date.now() + this.init.leaseTtlMs
    if (pin) this.refuseIfNoRoomForOwner(cidText, requester.peer)
    if (pin) this.admitLease(requester, cidText, block, expiresAt)
    const leases: Lease[] = pin ? [{ owner: requester.peer, expiresAt }] : []
    try {
      const replicas = await this.place(cidText, block, leases)
      return { ok: true, replicas, ...(pin ? { leaseExpiresAt: expiresAt } : {}) }
    } catch (err) {
      if (pin) this.limits.releaseLease(requester.peer, cidText)
      throw err
    }
  }

  /**
   * A block may have MAX_LEASES_PER_BLOCK owners: a pinned put of a block held here with that
   * many others is refused as a pin would be, rather than stored without the requester's lease.
   */
  private refuseIfNoRoomForOwner (cidText: string, owner: string): void {
    const leases = this.store.info(parse(cidText))?.leases ?? []
    const now = Date.now()
    const others = leases.filter(l => l.owner !== owner && l.expiresAt > now)
    if (others.length >= MAX_LEASES_PER_BLOCK) throw new Refusal('quota_exceeded', `block ${cidText} already has ${MAX_LEASES_PER_BLOCK} owners`)
  }

  private async place (cidText: string, block: BlockBytes, leases: Lease[]): Promise<number> {
    const cid = parse(cidText)
    const targets = placeBlock(cidText, this.fleet.placementAnchors(), this.init.replication)
    const quorum = this.init.writeQuorum
    if (targets.length < quorum) {
      throw new Refusal('quorum_failed', `only ${targets.length} storage anchor(s) available; the write quorum is ${quorum}`)
    }
    const writes = targets.map(async target => {
      if (target === this.fleet.self) await this.storeLocally(cid, block, leases)
      else await storeRequest(this.node, peerIdFromString(target), { op: 'replicate', cid: cidText, size: block.byteLength, ...(leases.length > 0 ? { leases } : {}) }, block)
    })
    return await new Promise<number>((resolve, reject) => {
      let done = 0
      const errors: string[] = []
      const codes = new Set<StoreErrorCode | undefined>()
      for (const [index, write] of writes.entries()) {
        write.then(() => {
          done++
          if (done === quorum) resolve(done)
        }, (err: unknown) => {
          errors.push(`${targets[index]}: ${(err as Error).message}`)
          codes.add(refusalCode(err))
          if (errors.length > targets.length - quorum) {
            // One cause for every failure (all full, all busy) is worth telling; a mix is not.
            const [only] = codes
            const code = codes.size === 1 && (only === 'store_full' || only === 'rate_limited') ? only : 'quorum_failed'
            reject(new Refusal(code, `write quorum ${quorum} of ${targets.length} not reached: ${errors.join('; ')}`))
          }
        })
      }
    })
  }

  /** Serves a block from here, or from one of its anchors; a corrupt local copy is replaced. */
  async get (cid: CID): Promise<Uint8Array> {
    try {
      return await this.getLocal(cid)
    } catch (err) {
      if (!(err instanceof Refusal) || (err.code !== 'corrupt' && err.code !== 'not_found')) throw err
      const block = await this.fetchRemote(cid)
      if (err.code === 'corrupt') {
        this.log.warn({ cid: cid.toString() }, err.message)
        await this.storeLocally(cid, block, [])
        this.metrics.repairedBlocks.inc()
      }
      return block
    }
  }

  private async getLocal (cid: CID): Promise<Uint8Array> {
    try {
      const local = await this.store.get(cid)
      if (local != null) return local
    } catch (err) {
      if (!(err instanceof CorruptBlockError)) throw err
      this.metrics.corruptBlocks.inc()
      throw new Refusal('corrupt', err.message)
    }
    throw new Refusal('not_found', `block ${cid.toString()} is not stored here`)
  }

  private async fetchRemote (cid: CID): Promise<Uint8Array> {
    const text = cid.toString()
    const ranked = placeBlock(text, this.fleet.readableAnchors(), Number.MAX_SAFE_INTEGER).filter(a => a !== this.fleet.self)
    for (const anchor of ranked) {
      try {
        const { block } = await storeRequest(this.node, peerIdFromString(anchor), { op: 'get', cid: text, local: true })
        if (block != null && await matchesCid(cid, block)) return block
      } catch {
        // Try the next anchor in rank order.
      }
    }
    throw new Refusal('not_found', `block ${text} is not stored on any reachable anchor`)
  }

  async storeLocally (cid: CID, block: BlockBytes, leases: readonly Lease[]): Promise<void> {
    const fresh = !this.store.has(cid)
    try {
      await this.store.put(cid, block, leases)
    } catch (err) {
      if (err instanceof StoreFullError) throw new Refusal('store_full', err.message)
      throw err
    }
    if (fresh) this.safeDispatchEvent('stored', { detail: cid })
  }
}

/** The store code a failed write answered or stands for (a full store here), if any. */
function refusalCode (err: unknown): StoreErrorCode | undefined {
  if (err instanceof Refusal) return err.code
  if (err instanceof StoreFullError || isStoreError(err, 'store_full')) return 'store_full'
  if (isStoreError(err, 'rate_limited')) return 'rate_limited'
  return undefined
}

/** What a lease on this block keeps: the block, and for a manifest the chunks it lists. */
export function leasedBytes (cid: CID, block: BlockBytes): number {
  if (cid.code !== CID_CODECS.json) return block.byteLength
  try {
    const manifest = manifestSchema.parse(JSON.parse(new TextDecoder().decode(block.subarray())))
    return Math.min(Number.MAX_SAFE_INTEGER, manifest.chunks.reduce((sum, chunk) => sum + chunk.size, block.byteLength))
  } catch {
    return block.byteLength
  }
}
