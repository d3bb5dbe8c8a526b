import type { ConnectionPath } from './connection-path.js'

/** Pauses before each try at a direct connection: one lost ICE exchange (a busy phone, a late candidate) should not leave two peers relayed for good. */
export const DIRECT_TRIES_AFTER_MS: readonly number[] = [0, 2_000, 5_000]
/** How long one try may take. */
export const DIRECT_TRY_TIMEOUT_MS = 10_000

export interface GoDirectOptions {
  /** Pauses before each try, one try per entry. @default DIRECT_TRIES_AFTER_MS */
  readonly triesAfterMs?: readonly number[]
  /** How long one try may take. @default DIRECT_TRY_TIMEOUT_MS */
  readonly tryTimeoutMs?: number
  /** Stops trying; the call then resolves with the path at that moment. */
  readonly signal?: AbortSignal
}

/**
 * Tries `upgrade` after each pause of `triesAfterMs` while `path()` says the peers are relayed;
 * resolves with the path once it is not (direct, or gone), or after the last try. A failed try
 * is handed to `onFailure` and leaves the relayed connection.
 */
export async function tryDirect (
  path: () => ConnectionPath | 'none', upgrade: (signal: AbortSignal) => Promise<unknown>, options: GoDirectOptions, onFailure: (err: Error) => void
): Promise<ConnectionPath | 'none'> {
  const timeoutMs = options.tryTimeoutMs ?? DIRECT_TRY_TIMEOUT_MS
  for (const pause of options.triesAfterMs ?? DIRECT_TRIES_AFTER_MS) {
    if (!await pausedFor(pause, options.signal) || path() !== 'relayed') break
    const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal != null ? [options.signal] : [])]
    try {
      await upgrade(AbortSignal.any(signals))
    } catch (err) {
      onFailure(err instanceof Error ? err : new Error(String(err)))
    }
  }
  return path()
}

/** False when `signal` aborted before or during the pause. */
async function pausedFor (ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return false
  if (ms <= 0) return true
  return await new Promise<boolean>(resolve => {
    const onAbort = (): void => { clearTimeout(timer); resolve(false) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(true) }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * One attempt per key, shared by every caller that asks while it runs. A caller whose signal
 * aborts stops waiting (and gets `now()`), and the attempt itself is stopped once no caller is
 * left waiting: one caller giving up cuts no other caller's attempt short.
 */
export class SharedAttempts<T> {
  private readonly running = new Map<string, { readonly done: Promise<T>, readonly stop: AbortController, waiting: number }>()

  async join (key: string, start: (signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined, now: () => T): Promise<T> {
    if (signal?.aborted === true) return now()
    let attempt = this.running.get(key)
    if (attempt == null) {
      const stop = new AbortController()
      const started = { done: start(stop.signal), stop, waiting: 0 }
      attempt = started
      this.running.set(key, started)
      void started.done.catch(() => {}).finally(() => { if (this.running.get(key) === started) this.running.delete(key) })
    }
    const joined = attempt
    joined.waiting++
    const leave = (): void => {
      if (--joined.waiting > 0) return
      // Stopped: whoever asks next starts afresh rather than joining an attempt on its way out.
      joined.stop.abort()
      if (this.running.get(key) === joined) this.running.delete(key)
    }
    return await new Promise<T>((resolve, reject) => {
      const onAbort = (): void => { leave(); resolve(now()) }
      signal?.addEventListener('abort', onAbort, { once: true })
      joined.done.then(value => {
        signal?.removeEventListener('abort', onAbort)
        if (signal?.aborted !== true) { leave(); resolve(value) }
      }, (err: unknown) => {
        signal?.removeEventListener('abort', onAbort)
        if (signal?.aborted !== true) { leave(); reject(err instanceof Error ? err : new Error(String(err))) }
      })
    })
  }
}
