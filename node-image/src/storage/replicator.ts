import { TypedEventEmitter } from 'main-event'
import { CID_CODECS, MAX_HAS_BATCH, manifestSchema } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { parseCid } from '../blocks/cid.js'
import { storeRequest } from '../blocks/store-client.js'
import { placeBlock } from './placement.js'
import type { Logger } from '../logging/logger.js'
import type { StorageMetrics } from '../metrics/storage-metrics.js'
import { isPinned } from './blockstore.js'
import type { Blockstore } from './blockstore.js'
import type { StorageFleet } from './storage-fleet.js'
import type { StoreService } from './store-service.js'
import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

const PUSH_CONCURRENCY = 4
const DRAIN_REPAIR_INTERVAL_MS = 1_000
const TRIGGER_DELAY_MS = 500

export interface ReplicatorInit {
  readonly replication: number
  readonly repairIntervalMs: number
  readonly gcIntervalMs: number
  readonly gcGraceMs: number
}

export interface RepairReport {
  readonly checked: number
  readonly pushed: number
  readonly underReplicated: number
  /** Local blocks not yet confirmed on every one of their anchors. */
  readonly unconfirmed: number
}

export interface ReplicatorEvents {
  /** After every repair round (drain progress). */
  round: CustomEvent<RepairReport>
}

/**
 * Keeps every block on its `replication` anchors as membership changes: each holder checks
 * the block's current anchors and pushes copies to those that lack it (repair after a loss,
 * hand-off when this anchor drains), and drops its own copy once the block is fully placed
 * elsewhere. Garbage collection keeps leased (pinned) manifests, and the chunks they list (their anchors
 * are told so on each round), and removes other blocks not referenced within the grace period.
 */
export class Replicator extends TypedEventEmitter<ReplicatorEvents> {
  private readonly node: Libp2p
  private readonly store: Blockstore
  private readonly service: StoreService
  private readonly fleet: StorageFleet
  private readonly metrics: StorageMetrics
  private readonly init: ReplicatorInit
  private readonly log: Logger
  private repairTimer?: NodeJS.Timeout
  private gcTimer?: NodeJS.Timeout
  private running?: Promise<RepairReport>
  private draining = false
  private stopped = false
  private last: RepairReport = { checked: 0, pushed: 0, underReplicated: 0, unconfirmed: 0 }
  private queued = 0

  constructor (node: Libp2p, store: Blockstore, service: StoreService, fleet: StorageFleet, metrics: StorageMetrics, init: ReplicatorInit, log: Logger) {
    super()
    this.node = node
    this.store = store
    this.service = service
    this.fleet = fleet
    this.metrics = metrics
    this.init = init
    this.log = log.child({ component: 'replicator' })
  }

  get lastReport (): RepairReport { return this.last }
  get repairQueue (): number { return this.queued }

  start (): void {
    this.schedule(this.init.repairIntervalMs)
    this.gcTimer = setInterval(() => { void this.collectGarbage().catch(err => this.log.warn({ err: (err as Error).message }, 'garbage collection failed')) }, this.init.gcIntervalMs)
    this.gcTimer.unref()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.repairTimer)
    clearInterval(this.gcTimer)
  }

  /** Membership changed: repair soon rather than at the next interval. */
  trigger (): void {
    this.schedule(TRIGGER_DELAY_MS)
  }

  setDraining (draining: boolean): void {
    this.draining = draining
    // Until a round has run under the new placement, every block counts as not handed off.
    if (draining) this.last = { ...this.last, unconfirmed: this.store.blockCount }
    this.trigger()
  }

  /** One repair round (concurrent calls share it). */
  async repair (): Promise<RepairReport> {
    this.running ??= this.repairRound().finally(() => { this.running = undefined })
    return await this.running
  }

  private schedule (delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.repairTimer)
    this.repairTimer = setTimeout(() => {
      void this.repair()
        .catch(err => { this.log.warn({ err: (err as Error).message }, 'repair round failed') })
        .finally(() => { this.schedule(this.draining ? DRAIN_REPAIR_INTERVAL_MS : this.init.repairIntervalMs) })
    }, delayMs)
    this.repairTimer.unref()
  }

  private async repairRound (): Promise<RepairReport> {
    const anchors = this.fleet.placementAnchors()
    // Garbage is not repaired: copying it would bring back what collection just removed elsewhere.
    const cids: CID[] = []
    for (const cid of this.store.cids()) if (!this.isGarbage(cid)) cids.push(cid)
    if (anchors.length === 0 || cids.length === 0) {
      this.last = { checked: cids.length, pushed: 0, underReplicated: 0, unconfirmed: this.draining ? cids.length : 0 }
      this.safeDispatchEvent('round', { detail: this.last })
      return this.last
    }
    const placement = new Map<string, string[]>()
    for (const cid of cids) placement.set(cid.toString(), placeBlock(cid.toString(), anchors, this.init.replication))
    const holders = await this.whoHas(placement)
    const pushes: Array<{ cid: CID, target: string }> = []
    let underReplicated = 0
    for (const cid of cids) {
      const missing = (placement.get(cid.toString()) ?? []).filter(t => t !== this.fleet.self && holders.get(t)?.has(cid.toString()) !== true)
      const selfMissing = placement.get(cid.toString())?.includes(this.fleet.self) === true && !this.store.has(cid)
      if (missing.length > 0 || selfMissing) underReplicated++
      for (const target of missing) pushes.push({ cid, target })
    }
    const pushed = await this.push(pushes, holders)
    let unconfirmed = 0
    for (const cid of cids) {
      const key = cid.toString()
      const targets = placement.get(key) ?? []
      const placed = targets.every(t => t === this.fleet.self || holders.get(t)?.has(key) === true)
      if (!placed) { unconfirmed++; continue }
      // Fully placed on other anchors: this copy is surplus (a new anchor took its place).
      if (!targets.includes(this.fleet.self) && !this.draining) await this.store.delete(cid)
    }
    this.last = { checked: cids.length, pushed, underReplicated, unconfirmed }
    if (pushed > 0 || unconfirmed > 0) this.log.info(this.last, 'repair round')
    this.safeDispatchEvent('round', { detail: this.last })
    return this.last
  }

  /** Asks every target which of its blocks it holds (batched); unreachable targets hold none. */
  private async whoHas (placement: Map<string, string[]>, touch = false): Promise<Map<string, Set<string>>> {
    const byTarget = new Map<string, string[]>()
    for (const [cid, targets] of placement) {
      for (const target of targets) {
        if (target === this.fleet.self) continue
        const list = byTarget.get(target) ?? []
        list.push(cid)
        byTarget.set(target, list)
      }
    }
    const holders = new Map<string, Set<string>>()
    await Promise.all([...byTarget].map(async ([target, list]) => {
      const held = new Set<string>()
      holders.set(target, held)
      for (let i = 0; i < list.length; i += MAX_HAS_BATCH) {
        const batch = list.slice(i, i + MAX_HAS_BATCH)
        try {
          const { reply } = await storeRequest(this.node, peerIdFromString(target), { op: 'has', cids: batch, ...(touch ? { touch } : {}) })
          batch.forEach((cid, j) => { if (reply.has?.[j] === true) held.add(cid) })
        } catch (err) {
          // Counted as holding none: repair then pushes copies, which is safe but costly, so say so.
          this.log.warn({ target, err: (err as Error).message }, 'has check failed')
        }
      }
    }))
    return holders
  }

  private async push (pushes: Array<{ cid: CID, target: string }>, holders: Map<string, Set<string>>): Promise<number> {
    this.queued = pushes.length
    let pushed = 0
    const work = [...pushes]
    const worker = async (): Promise<void> => {
      for (let next = work.shift(); next != null; next = work.shift()) {
        const { cid, target } = next
        try {
          const block = await this.service.get(cid)
          const leases = (this.store.info(cid)?.leases ?? []).filter(lease => lease.expiresAt > Date.now())
          await storeRequest(this.node, peerIdFromString(target), { op: 'replicate', cid: cid.toString(), size: block.byteLength, ...(leases.length > 0 ? { leases } : {}) }, block)
          holders.get(target)?.add(cid.toString())
          pushed++
          this.metrics.repairedBlocks.inc()
        } catch (err) {
          this.log.debug({ cid: cid.toString(), target, err: (err as Error).message }, 'push failed')
        } finally {
          this.queued--
        }
      }
    }
    await Promise.all(Array.from({ length: PUSH_CONCURRENCY }, worker))
    return pushed
  }

  /** Unpinned and not referenced within the grace period: the next collection removes it. */
  private isGarbage (cid: CID, now = Date.now()): boolean {
    if (isPinned(this.store.info(cid), now)) return false
    const last = this.store.lastReferenced(cid)
    return last != null && now - last > this.init.gcGraceMs
  }

  /** Marks what pinned manifests reference (here and on their anchors), then sweeps the rest. */
  async collectGarbage (now = Date.now()): Promise<number> {
    const readable = this.fleet.readableAnchors()
    const referenced = new Map<string, string[]>()
    for (const cid of this.store.cids()) {
      if (cid.code !== CID_CODECS.json || !isPinned(this.store.info(cid), now)) continue
      const bytes = await this.store.get(cid).catch(() => undefined)
      if (bytes == null) continue
      let manifest
      try {
        manifest = manifestSchema.parse(JSON.parse(new TextDecoder().decode(bytes)))
      } catch {
        continue
      }
      for (const chunk of manifest.chunks) referenced.set(chunk.cid, placeBlock(chunk.cid, readable, this.init.replication))
    }
    for (const key of referenced.keys()) {
      const cid = parseCid(key)
      if (this.store.has(cid)) await this.store.touch(cid)
    }
    await this.whoHas(referenced, true)
    let deleted = 0
    for (const cid of this.store.cids()) {
      if (this.isGarbage(cid, now)) {
        await this.store.delete(cid)
        deleted++
      }
    }
    if (deleted > 0) {
      this.metrics.gcDeletedBlocks.inc(deleted)
      this.log.info({ deleted }, 'garbage collected unreferenced blocks')
    }
    return deleted
  }
}
