import { TypedEventEmitter } from 'main-event'
import { MAX_BLOCK_BYTES, storeRequestSchema } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { matchesCid, parseCid } from '../blocks/cid.js'
import { encodeHeader, isStoreError, readHeader, storeFrames, storeRequest } from '../blocks/store-client.js'
import { CorruptBlockError, StoreFullError } from './blockstore.js'
import { placeBlock } from './placement.js'
import type { Logger } from '../logging/logger.js'
import type { StorageMetrics } from '../metrics/storage-metrics.js'
import type { Blockstore } from './blockstore.js'
import type { PeerLimits } from './peer-limits.js'
import type { StorageFleet } from './storage-fleet.js'
import type { StoreErrorCode, StoreReply, StoreRequest } from '@meganet/contracts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

const REQUEST_TIMEOUT_MS = 60_000

export interface StoreServiceInit {
  readonly replication: number
  readonly writeQuorum: number
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

/**
 * Serves `/meganet/store/1.0.0`. A `put` is verified against its CID, placed on the
 * `replication` anchors that rendezvous hashing picks from the live membership, and
 * acknowledged once `writeQuorum` of them hold it; a `get` is served locally or fetched from
 * the block's anchors. Everything read is checked against its CID.
 */
export class StoreService extends TypedEventEmitter<StoreServiceEvents> {
  private readonly node: Libp2p
  private readonly store: Blockstore
  private readonly fleet: StorageFleet
  private readonly limits: PeerLimits
  private readonly metrics: StorageMetrics
  private readonly init: StoreServiceInit
  private readonly log: Logger
  private accepting = true

  constructor (node: Libp2p, store: Blockstore, fleet: StorageFleet, limits: PeerLimits, metrics: StorageMetrics, init: StoreServiceInit, log: Logger) {
    super()
    this.node = node
    this.store = store
    this.fleet = fleet
    this.limits = limits
    this.metrics = metrics
    this.init = init
    this.log = log.child({ component: 'store' })
  }

  /** While draining, puts from peers are refused; replicas from the fleet still land. */
  setAccepting (accepting: boolean): void {
    this.accepting = accepting
  }

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const framed = storeFrames(stream)
    let op = 'invalid'
    try {
      const parsed = storeRequestSchema.safeParse(await readHeader(framed, signal))
      if (!parsed.success) throw new Refusal('malformed', `malformed store request: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim())
      const request = parsed.data
      op = request.op
      const from = connection.remotePeer.toString()
      let block: Uint8Array | undefined
      if (request.op === 'put' || request.op === 'replicate') {
        block = await this.receiveBlock(request, framed, signal)
      }
      const { reply, data } = await this.serve(request, from, block)
      await framed.write(encodeHeader(reply), { signal })
      if (data != null) await framed.write(data, { signal })
      this.metrics.operations.inc({ op, outcome: 'ok' })
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      const refusal = err instanceof Refusal
      this.metrics.operations.inc({ op, outcome: refusal ? 'refused' : 'error' })
      if (!refusal) this.log.warn({ op, err: (err as Error).message }, 'store request failed')
      const reply: StoreReply = { ok: false, code: refusal ? err.code : 'internal', error: (err as Error).message.slice(0, 1000) }
      try {
        await framed.write(encodeHeader(reply), { signal })
        await stream.close({ signal })
      } catch {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  private async receiveBlock (request: Extract<StoreRequest, { op: 'put' | 'replicate' }>, framed: ReturnType<typeof storeFrames>, signal: AbortSignal): Promise<Uint8Array> {
    if (request.size > MAX_BLOCK_BYTES) throw new Refusal('too_large', `block of ${request.size} bytes exceeds ${MAX_BLOCK_BYTES}`)
    let block: Uint8Array
    try {
      block = (await framed.read({ signal })).subarray()
    } catch (err) {
      if ((err as Error).name === 'InvalidDataLengthError') throw new Refusal('too_large', `block frame exceeds ${MAX_BLOCK_BYTES} bytes`)
      throw err
    }
    if (block.byteLength !== request.size) throw new Refusal('malformed', `block is ${block.byteLength} bytes, header said ${request.size}`)
    if (!(await matchesCid(parseCid(request.cid), block))) throw new Refusal('cid_mismatch', `block does not hash to ${request.cid}`)
    return block
  }

  private async serve (request: StoreRequest, from: string, block?: Uint8Array): Promise<{ reply: Extract<StoreReply, { ok: true }>, data?: Uint8Array }> {
    switch (request.op) {
      case 'put': return { reply: { ok: true, replicas: await this.put(request.cid, block ?? new Uint8Array(), request.pin === true, from) } }
      case 'replicate': {
        if (!this.fleet.isMember(from)) throw new Refusal('malformed', 'replicate is for anchors of this fleet')
        await this.storeLocally(parseCid(request.cid), block ?? new Uint8Array(), request.pin === true)
        return { reply: { ok: true, replicas: 1 } }
      }
      case 'has': {
        const cids = request.cids.map(text => parseCid(text))
        if (request.touch === true && this.fleet.isMember(from)) await Promise.all(cids.filter(c => this.store.has(c)).map(async c => await this.store.touch(c)))
        return { reply: { ok: true, has: cids.map(c => this.store.has(c)) } }
      }
      case 'get': {
        const cid = parseCid(request.cid)
        const data = request.local === true ? await this.getLocal(cid) : await this.get(cid)
        return { reply: { ok: true, size: data.byteLength }, data }
      }
    }
  }

  /** Places a verified block on its anchors and returns how many hold it once the quorum does. */
  async put (cidText: string, block: Uint8Array, pin: boolean, from: string): Promise<number> {
    if (!this.accepting) throw new Refusal('draining', 'this anchor is draining: put the block through another anchor')
    const admission = this.limits.admit(from, block.byteLength)
    if (!admission.ok) throw new Refusal(admission.code, admission.message)
    const cid = parseCid(cidText)
    const targets = placeBlock(cidText, this.fleet.placementAnchors(), this.init.replication)
    const quorum = this.init.writeQuorum
    if (targets.length < quorum) {
      throw new Refusal('quorum_failed', `only ${targets.length} storage anchor(s) available; the write quorum is ${quorum}`)
    }
    const writes = targets.map(async target => {
      if (target === this.fleet.self) await this.storeLocally(cid, block, pin)
      else await storeRequest(this.node, peerIdFromString(target), { op: 'replicate', cid: cidText, size: block.byteLength, ...(pin ? { pin } : {}) }, block)
    })
    return await new Promise<number>((resolve, reject) => {
      let done = 0
      let failed = 0
      const errors: string[] = []
      for (const [index, write] of writes.entries()) {
        write.then(() => {
          done++
          if (done === quorum) resolve(done)
        }, (err: unknown) => {
          failed++
          errors.push(`${targets[index]}: ${(err as Error).message}`)
          if (failed > targets.length - quorum) {
            const full = err instanceof StoreFullError || isStoreError(err, 'store_full')
            reject(new Refusal(full ? 'store_full' : 'quorum_failed', `write quorum ${quorum} of ${targets.length} not reached: ${errors.join('; ')}`))
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
        await this.storeLocally(cid, block, false)
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

  async storeLocally (cid: CID, block: Uint8Array, pin: boolean): Promise<void> {
    const fresh = !this.store.has(cid)
    try {
      await this.store.put(cid, block, pin)
    } catch (err) {
      if (err instanceof StoreFullError) throw new Refusal('store_full', err.message)
      throw err
    }
    if (fresh) this.safeDispatchEvent('stored', { detail: cid })
  }
}
