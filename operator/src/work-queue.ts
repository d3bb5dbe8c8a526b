const INITIAL_RETRY_MS = 1_000
const MAX_RETRY_MS = 5 * 60_000

export type ReconcileResult = { requeueAfterMs?: number }

/**
 * A per-key work queue: one reconcile at a time per key, a key queued twice runs once, failures
 * retry with exponential backoff per key, and a result may ask to run again after a delay.
 */
export class WorkQueue {
  private readonly handler: (key: string) => Promise<ReconcileResult>
  private readonly onError: (key: string, err: unknown, retryInMs: number) => void
  private readonly pending = new Set<string>()
  private readonly running = new Set<string>()
  private readonly dirty = new Set<string>()
  private readonly failures = new Map<string, number>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly settled = new Set<() => void>()
  /** When each pending key was queued, to report how long it waited. */
  private readonly queuedAt = new Map<string, number>()
  private readonly onWait: (ms: number) => void
  private stopped = false

  constructor (handler: (key: string) => Promise<ReconcileResult>, onError: (key: string, err: unknown, retryInMs: number) => void, onWait: (ms: number) => void = () => {}) {
    this.handler = handler
    this.onError = onError
    this.onWait = onWait
  }

  get depth (): number {
    return this.pending.size
  }

  add (key: string): void {
    if (this.stopped) return
    if (this.running.has(key)) { this.dirty.add(key); return }
    if (this.pending.has(key)) return
    this.pending.add(key)
    this.queuedAt.set(key, performance.now())
    queueMicrotask(() => { void this.process(key) })
  }

  addAfter (key: string, delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timers.get(key))
    const timer = setTimeout(() => { this.timers.delete(key); this.add(key) }, delayMs)
    timer.unref()
    this.timers.set(key, timer)
  }

  stop (): void {
    this.stopped = true
    for (const timer of this.timers.values()) clearTimeout(timer)
  }

  /** Resolves once no reconcile is running (after {@link stop}, none starts again). */
  async idle (): Promise<void> {
    while (this.running.size > 0) await new Promise<void>(resolve => { this.settled.add(resolve) })
  }

  private async process (key: string): Promise<void> {
    const queuedAt = this.queuedAt.get(key)
    this.queuedAt.delete(key)
    if (!this.pending.delete(key) || this.stopped) return
    if (queuedAt != null) this.onWait(performance.now() - queuedAt)
    this.running.add(key)
    try {
      const result = await this.handler(key)
      this.failures.delete(key)
      if (result.requeueAfterMs != null) this.addAfter(key, result.requeueAfterMs)
    } catch (err) {
      const attempts = (this.failures.get(key) ?? 0) + 1
      this.failures.set(key, attempts)
      const delay = Math.min(INITIAL_RETRY_MS * 2 ** (attempts - 1), MAX_RETRY_MS)
      this.onError(key, err, delay)
      this.addAfter(key, delay)
    } finally {
      this.running.delete(key)
      if (this.dirty.delete(key)) this.add(key)
      for (const resolve of this.settled) resolve()
      this.settled.clear()
    }
  }
}
