/** A computed value and when it was computed (ms since the epoch). */
export interface Snapshot<T> {
  readonly at: number
  readonly result: T
}

/**
 * One value computed at most once per `ttlMs`, however many ask: concurrent callers share the
 * computation under way, later ones get the cached result until it is `ttlMs` old. What makes a
 * flood of requests to an endpoint cost one computation per interval, not one per request.
 */
export class ResponseCache<T> {
  private readonly ttlMs: number
  private readonly compute: () => Promise<T>
  private value?: Snapshot<T>
  private pending?: Promise<Snapshot<T>>

  constructor (ttlMs: number, compute: () => Promise<T>) {
    this.ttlMs = ttlMs
    this.compute = compute
  }

  /** The value with its time, so a reader can tell how old it is. */
  async snapshot (now = Date.now()): Promise<Snapshot<T>> {
    if (this.value != null && now - this.value.at < this.ttlMs) return this.value
    this.pending ??= this.compute().then(result => {
      this.value = { at: Date.now(), result }
      return this.value
    }).finally(() => { this.pending = undefined })
    return await this.pending
  }
}
