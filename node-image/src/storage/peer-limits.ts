import { DailyCounter, TokenBucket, WindowedSum } from './limit-counters.js'
import { LeaseLedger } from './lease-ledger.js'
import type { StorageGrant } from '@meganet/contracts'

/**
 * Admission for the store. PeerIds are free, so every limit on a PeerId has a twin on its
 * network (IPv4 /24, IPv6 /56): upload rate and bytes per day, and on top a cap on what one
 * network may hold through this anchor at once (its recent unpinned uploads and its owners'
 * leases), a share of the anchor's capacity. Pins are leases that count against their owner's
 * lease quota. A storage grant (signed by an operator-configured key) replaces a holder's own
 * limits and exempts it from its network's. `null` lifts a limit.
 */
export interface PeerLimitsInit {
  /** Bytes per second one PeerId may upload. */
  readonly bytesPerSecond: number | null
  /** Bytes one PeerId may upload per 24 hours. */
  readonly bytesPerDay: number | null
  /** Bytes per second one network may upload. */
  readonly networkBytesPerSecond?: number | null
  /** Bytes one network may upload per 24 hours. */
  readonly networkBytesPerDay?: number | null
  /** Bytes one network may hold through this anchor at once (recent uploads plus leases). */
  readonly networkHeldBytes?: number | null
  /** How long an unpinned upload counts as held (until garbage collection may take it). */
  readonly heldWindowMs?: number
  /** Bytes one PeerId may hold under leases through this anchor. */
  readonly leaseBytes?: number | null
}

/** Who asks: a PeerId and its network; no network (a fellow anchor) means no network limits. */
export interface Uploader {
  readonly peer: string
  readonly network?: string
}

export type Admission = { ok: true } | { ok: false, code: 'rate_limited' | 'quota_exceeded', message: string }

interface Usage {
  rate?: TokenBucket
  day: DailyCounter
  lastSeen: number
}

const FORGET_AFTER_MS = 10 * 60 * 1000
const SWEEP_INTERVAL_MS = 60 * 1000
/** Tracked PeerIds at most: past this the oldest are forgotten (their networks are still limited). */
const MAX_TRACKED_PEERS = 100_000
const DEFAULT_HELD_WINDOW_MS = 24 * 60 * 60 * 1000

const OK: Admission = { ok: true }

export class PeerLimits {
  private readonly init: PeerLimitsInit
  private readonly peers = new Map<string, Usage>()
  private readonly networks = new Map<string, Usage & { held: WindowedSum }>()
  private readonly grants = new Map<string, StorageGrant>()
  readonly leases = new LeaseLedger()
  private lastSweep = 0

  constructor (init: PeerLimitsInit) {
    this.init = init
  }

  /** Lifts `holder`'s limits to its grant's until the grant expires. */
  grant (grant: StorageGrant): void {
    this.grants.set(grant.holder, grant)
  }

  private grantOf (peer: string, now: number): StorageGrant | undefined {
    const grant = this.grants.get(peer)
    if (grant != null && grant.expiresAt < now) { this.grants.delete(peer); return undefined }
    return grant
  }

  /**
   * Admits an upload of `bytes`, or says which limit refuses it. `pinned` uploads are held by
   * their lease (see {@link admitLease}); unpinned ones count as held by the network for the window.
   */
  admit (from: Uploader, bytes: number, options: { pinned?: boolean, now?: number } = {}): Admission {
    const now = options.now ?? Date.now()
    this.sweep(now)
    const grant = this.grantOf(from.peer, now)
    const peer = this.usage(this.peers, from.peer, this.init.bytesPerSecond, bytes, now)
    const perDay = grant != null ? grant.bytesPerDay : this.init.bytesPerDay
    const network = grant == null && from.network != null ? this.networkUsage(from.network, bytes, now) : undefined

    const dayUsed = peer.day.used(now)
    if (perDay != null && dayUsed + bytes > perDay) {
      return { ok: false, code: 'quota_exceeded', message: `daily quota of ${perDay} bytes reached (${dayUsed} used); it resets ${new Date(peer.day.resetsAt()).toISOString()}` }
    }
    if (network != null && from.network != null) {
      const networkDay = network.day.used(now)
      const networkPerDay = this.init.networkBytesPerDay ?? null
      if (networkPerDay != null && networkDay + bytes > networkPerDay) {
        return { ok: false, code: 'quota_exceeded', message: `daily quota of ${networkPerDay} bytes for network ${from.network} reached; it resets ${new Date(network.day.resetsAt()).toISOString()}` }
      }
      const heldCap = this.init.networkHeldBytes ?? null
      if (heldCap != null && options.pinned !== true) {
        const held = network.held.total(now) + this.leases.networkLeased(from.network, now)
        if (held + bytes > heldCap) {
          return { ok: false, code: 'quota_exceeded', message: `network ${from.network} holds ${held} bytes through this anchor; its share is ${heldCap}` }
        }
      }
    }
    const wait = Math.max(peer.rate?.take(bytes, now) ?? 0, network?.rate?.take(bytes, now) ?? 0)
    if (wait > 0) return { ok: false, code: 'rate_limited', message: `upload rate above the limit; retry in ${wait} ms` }
    peer.day.add(bytes, now)
    if (network != null) {
      network.day.add(bytes, now)
      if (options.pinned !== true) network.held.add(bytes, now)
    }
    return OK
  }

  /**
   * Admits (and records) `from`'s lease on `cid` covering `bytes` until `expiresAt`: within the
   * owner's lease quota (its grant's, if any) and its network's share. Renewing a lease replaces it.
   */
  admitLease (from: Uploader, cid: string, bytes: number, expiresAt: number, now = Date.now()): Admission {
    const grant = this.grantOf(from.peer, now)
    const quota = grant != null ? grant.leaseBytes : this.init.leaseBytes ?? null
    const held = this.leases.ownerBytes(from.peer, now, cid)
    if (quota != null && held + bytes > quota) {
      return { ok: false, code: 'quota_exceeded', message: `lease quota of ${quota} bytes reached (${held} leased); release or let leases expire` }
    }
    const network = grant == null ? from.network : undefined
    const heldCap = this.init.networkHeldBytes ?? null
    if (network != null && heldCap != null) {
      const current = this.leases.get(from.peer, cid)
      const networkHeld = (this.networks.get(network)?.held.total(now) ?? 0) + this.leases.networkLeased(network, now) - (current?.network === network ? current.bytes : 0)
      if (networkHeld + bytes > heldCap) {
        return { ok: false, code: 'quota_exceeded', message: `network ${network} holds ${networkHeld} bytes through this anchor; its share is ${heldCap}` }
      }
    }
    this.leases.set(from.peer, cid, { bytes, expiresAt, ...(network != null ? { network } : {}) })
    return OK
  }

  /** Releases `owner`'s lease on `cid` here; true when it held one. */
  releaseLease (owner: string, cid: string): boolean {
    return this.leases.remove(owner, cid)
  }

  private usage (table: Map<string, Usage>, key: string, rate: number | null, bytes: number, now: number): Usage {
    let usage = table.get(key)
    if (usage == null) {
      if (table.size >= MAX_TRACKED_PEERS) {
        const oldest = table.keys().next().value
        if (oldest != null) table.delete(oldest)
      }
      usage = { day: new DailyCounter(now), lastSeen: now, ...(rate != null ? { rate: new TokenBucket(rate, now, bytes) } : {}) }
      table.set(key, usage)
    }
    usage.lastSeen = now
    return usage
  }

  private networkUsage (network: string, bytes: number, now: number): Usage & { held: WindowedSum } {
    let usage = this.networks.get(network)
    if (usage == null) {
      const rate = this.init.networkBytesPerSecond ?? null
      usage = { day: new DailyCounter(now), lastSeen: now, held: new WindowedSum(this.init.heldWindowMs ?? DEFAULT_HELD_WINDOW_MS, now), ...(rate != null ? { rate: new TokenBucket(rate, now, bytes) } : {}) }
      this.networks.set(network, usage)
    }
    usage.lastSeen = now
    return usage
  }

  private sweep (now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return
    this.lastSweep = now
    for (const [peer, usage] of this.peers) {
      if (now - usage.lastSeen > FORGET_AFTER_MS && usage.day.expired(now)) this.peers.delete(peer)
    }
    const window = this.init.heldWindowMs ?? DEFAULT_HELD_WINDOW_MS
    for (const [network, usage] of this.networks) {
      if (now - usage.lastSeen > Math.max(FORGET_AFTER_MS, window) && usage.day.expired(now)) this.networks.delete(network)
    }
    this.leases.sweep(now)
    for (const [holder, grant] of this.grants) if (grant.expiresAt < now) this.grants.delete(holder)
  }
}
