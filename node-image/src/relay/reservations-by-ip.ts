/**
 * Which reservation holders came from which IP address, so the per-IP cap costs O(cap) per
 * request instead of a scan of every reservation. The relay's own store stays the truth:
 * holders whose reservation expired or was refused there are dropped when next counted.
 */
export class ReservationsByIp<Holder> {
  private readonly holders = new Map<string, Map<string, Holder>>()
  private readonly ipOfHolder = new Map<string, string>()

  /**
   * Holders other than `except` that still hold a reservation from `ip`, counted up to `limit`
   * (the cap: past it the answer is the same), so a crowd from one address — every peer of a
   * NAT, or a load test on loopback — costs O(cap) per request, not O(crowd).
   */
  count (ip: string, except: string, stillReserved: (holder: Holder) => boolean, limit: number): number {
    const holders = this.holders.get(ip)
    if (holders == null) return 0
    let count = 0
    for (const [key, holder] of holders) {
      if (count >= limit) break
      if (!stillReserved(holder)) this.remove(key)
      else if (key !== except) count++
    }
    return count
  }

  add (key: string, holder: Holder, ip: string): void {
    if (this.ipOfHolder.get(key) !== ip) this.remove(key)
    let holders = this.holders.get(ip)
    if (holders == null) this.holders.set(ip, holders = new Map<string, Holder>())
    holders.set(key, holder)
    this.ipOfHolder.set(key, ip)
  }

  remove (key: string): void {
    const ip = this.ipOfHolder.get(key)
    if (ip == null) return
    this.ipOfHolder.delete(key)
    const holders = this.holders.get(ip)
    holders?.delete(key)
    if (holders?.size === 0) this.holders.delete(ip)
  }

  get size (): number {
    return this.ipOfHolder.size
  }
}
