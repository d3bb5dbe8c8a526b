/**
 * One value computed at most once per `ttlMs`, however many ask: concurrent callers share the
 * computation under way, later ones get the cached result until it is `ttlMs` old. What makes a
 * flood of requests to an endpoint cost one computation per interval, not one per request.
 */
export class ResponseCache<T> {
  private readonly ttlMs: number
  private readonly compute: () => Promise<T>
  private value?: { at: number, result: T }
  private pending?: Promise<T>

  constructor (ttlMs: number, compute: () => Promise<T>) {
    this.ttlMs = ttlMs
    this.compute = compute
  }

  async get (now = Date.now()): Promise<T> {
    if (this.value != null && now - this.value.at < this.ttlMs) return this.value.result
    this.pending ??= this.compute().then(result => {
      this.value = { at: Date.now(), result }
      return result
    }).finally(() => { this.pending = undefined })
    return await this.pending
  }
}
