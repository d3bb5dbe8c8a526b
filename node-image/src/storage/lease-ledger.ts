/** Counting sweeps at most this often, however many leases expire. */
const SWEEP_SPACING_MS = 1_000

/** One owner's lease on one block, as the anchor that granted it accounts it. */
export interface LeaseEntry {
  readonly bytes: number
  readonly expiresAt: number
  /** The owner's network when the lease was taken (its share is charged there). */
  readonly network?: string
}

/**
 * The leases this anchor granted, per owner: what the owner holds counts against its lease
 * quota, and against its network's share. Expired leases stop counting by themselves.
 * In memory: after a restart, owners simply start from zero here.
 */
export class LeaseLedger {
  private readonly byOwner = new Map<string, Map<string, LeaseEntry>>()
  private readonly networkBytes = new Map<string, number>()
  private count = 0
  /** The earliest expiry among the leases, so counting knows when a sweep is due. */
  private nextExpiry = Number.POSITIVE_INFINITY
  private lastSweep = Number.NEGATIVE_INFINITY

  /** Bytes under `owner`'s live leases, not counting `except` (the lease being renewed). */
  ownerBytes (owner: string, now: number, except?: string): number {
    const leases = this.byOwner.get(owner)
    if (leases == null) return 0
    let total = 0
    for (const [cid, lease] of leases) {
      if (lease.expiresAt <= now) { this.remove(owner, cid); continue }
      if (cid !== except) total += lease.bytes
    }
    return total
  }

  /** Bytes under live leases of owners from `network` (to within a second of their expiry). */
  networkLeased (network: string, now: number): number {
    if (now >= this.nextExpiry && now - this.lastSweep >= SWEEP_SPACING_MS) this.sweep(now)
    return this.networkBytes.get(network) ?? 0
  }

  get (owner: string, cid: string): LeaseEntry | undefined {
    return this.byOwner.get(owner)?.get(cid)
  }

  set (owner: string, cid: string, lease: LeaseEntry): void {
    this.remove(owner, cid)
    let leases = this.byOwner.get(owner)
    if (leases == null) this.byOwner.set(owner, leases = new Map<string, LeaseEntry>())
    leases.set(cid, lease)
    this.count++
    this.nextExpiry = Math.min(this.nextExpiry, lease.expiresAt)
    if (lease.network != null) this.networkBytes.set(lease.network, (this.networkBytes.get(lease.network) ?? 0) + lease.bytes)
  }

  /** Forgets a lease; true when there was one. */
  remove (owner: string, cid: string): boolean {
    const leases = this.byOwner.get(owner)
    const lease = leases?.get(cid)
    if (leases == null || lease == null) return false
    leases.delete(cid)
    if (leases.size === 0) this.byOwner.delete(owner)
    this.count--
    if (lease.network != null) {
      const left = (this.networkBytes.get(lease.network) ?? 0) - lease.bytes
      if (left <= 0) this.networkBytes.delete(lease.network)
      else this.networkBytes.set(lease.network, left)
    }
    return true
  }

  /** Drops expired leases. */
  sweep (now: number): void {
    this.lastSweep = now
    let next = Number.POSITIVE_INFINITY
    for (const [owner, leases] of this.byOwner) {
      for (const [cid, lease] of leases) {
        if (lease.expiresAt <= now) this.remove(owner, cid)
        else next = Math.min(next, lease.expiresAt)
      }
    }
    this.nextExpiry = next
  }

  get size (): number {
    return this.count
  }
}
