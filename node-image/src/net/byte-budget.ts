/** Gives back what was taken; calling it again does nothing. */
export type Release = () => void

export interface ByteBudgetInit {
  /** Bytes that may be held at once across every request. */
  readonly limit: number
  /** The share of `limit` one holder (one network, say) may hold at once; 1 lets one holder take it all. */
  readonly holderShare: number
}

/**
 * One budget for the bytes that requests on one protocol hold in memory while in flight (a block
 * being received, a reply being sent). A request that would go over is refused at once, never
 * queued: under a flood, memory stays at the budget and the flood gets refusals. One holder
 * (e.g. one /24 network) may take at most `holderShare` of it, so it cannot starve the others.
 */
export class ByteBudget {
  readonly limit: number
  private readonly perHolder: number
  private heldBytes = 0
  private readonly byHolder = new Map<string, number>()

  constructor (init: ByteBudgetInit) {
    this.limit = init.limit
    this.perHolder = Math.max(1, Math.floor(init.limit * init.holderShare))
  }

  get held (): number {
    return this.heldBytes
  }

  /** Takes `bytes` for `holder` (undefined: no per-holder cap, e.g. a fellow anchor), or undefined when that would go over. */
  tryAcquire (bytes: number, holder?: string): Release | undefined {
    if (bytes < 0 || this.heldBytes + bytes > this.limit) return undefined
    const holderBytes = holder == null ? 0 : this.byHolder.get(holder) ?? 0
    if (holder != null && holderBytes + bytes > this.perHolder) return undefined
    this.heldBytes += bytes
    if (holder != null) this.byHolder.set(holder, holderBytes + bytes)
    let released = false
    return () => {
      if (released) return
      released = true
      this.heldBytes -= bytes
      if (holder == null) return
      const left = (this.byHolder.get(holder) ?? 0) - bytes
      if (left <= 0) this.byHolder.delete(holder)
      else this.byHolder.set(holder, left)
    }
  }
}
