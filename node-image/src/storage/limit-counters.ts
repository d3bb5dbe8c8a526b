/** Small counters the storage limits are built from; each keeps O(1) state. */

/** A token bucket of bytes per second; a request bigger than one second's worth passes when the bucket is full. */
export class TokenBucket {
  private tokens: number
  private refilledAt: number

  constructor (private readonly rate: number, now: number, firstRequest: number) {
    // A fresh holder may burst one second's worth, or one request, whichever is larger.
    this.tokens = Math.max(rate, firstRequest)
    this.refilledAt = now
  }

  /** Milliseconds until `bytes` may pass, or 0 when they may pass now (and are taken). */
  take (bytes: number, now: number): number {
    const capacity = Math.max(this.rate, bytes)
    this.tokens = Math.min(capacity, this.tokens + ((now - this.refilledAt) / 1000) * this.rate)
    this.refilledAt = now
    if (this.tokens < bytes) return Math.ceil(((bytes - this.tokens) / this.rate) * 1000)
    this.tokens -= bytes
    return 0
  }

  get idleSince (): number {
    return this.refilledAt
  }
}

export const DAY_MS = 24 * 60 * 60 * 1000

/** Bytes per day, counted from the first byte of the day and reset a day later. */
export class DailyCounter {
  private dayStartedAt: number
  private bytes = 0

  constructor (now: number) {
    this.dayStartedAt = now
  }

  used (now: number): number {
    if (now - this.dayStartedAt >= DAY_MS) { this.dayStartedAt = now; this.bytes = 0 }
    return this.bytes
  }

  add (bytes: number, now: number): void {
    this.used(now)
    this.bytes += bytes
  }

  resetsAt (): number {
    return this.dayStartedAt + DAY_MS
  }

  expired (now: number): boolean {
    return now - this.dayStartedAt >= DAY_MS
  }
}

/** A sum over a sliding window, kept in `buckets` slots (so its memory does not grow with traffic). */
export class WindowedSum {
  private readonly slots: number[]
  private readonly slotMs: number
  private slotStart: number
  private current = 0

  constructor (windowMs: number, now: number, buckets = 24) {
    this.slots = Array<number>(buckets).fill(0)
    this.slotMs = Math.max(1, Math.ceil(windowMs / buckets))
    this.slotStart = now - (now % this.slotMs)
  }

  private advance (now: number): void {
    while (now - this.slotStart >= this.slotMs) {
      this.current = (this.current + 1) % this.slots.length
      this.slots[this.current] = 0
      this.slotStart += this.slotMs
      // A long idle spell clears every slot without stepping through each missed one.
      if (now - this.slotStart >= this.slotMs * this.slots.length) {
        this.slots.fill(0)
        this.slotStart = now - (now % this.slotMs)
      }
    }
  }

  add (bytes: number, now: number): void {
    this.advance(now)
    this.slots[this.current] = (this.slots[this.current] ?? 0) + bytes
  }

  total (now: number): number {
    this.advance(now)
    return this.slots.reduce((a, b) => a + b, 0)
  }
}
