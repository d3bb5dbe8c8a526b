/**
 * A sliding window over a sequence: runs `work` on up to `limit` items at once and hands the
 * results to `consume` in item order. The next item is pulled from `items` only when there is
 * room, so a lazy source (a file being read chunk by chunk) is held back, never read ahead.
 */

export interface OrderedPoolOptions {
  /** Calls of `work` in flight at most. */
  readonly limit: number
  /** Stops pulling and starting work; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

/**
 * Resolves with the number of items once every result has been consumed. The first failure
 * (of `work`, `consume`, the source or the signal) rejects it, but only after the calls still
 * in flight have settled, so nothing keeps running behind the caller's back.
 */
export async function mapInOrder<I, O> (
  items: AsyncIterable<I> | Iterable<I>,
  work: (item: I, index: number) => Promise<O>,
  consume: (result: O, index: number) => Promise<void> | void,
  options: OrderedPoolOptions
): Promise<number> {
  const { limit, signal } = options
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number >= 1; got ${limit}`)
  const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]()
  const pending: Array<Promise<O>> = []
  let started = 0
  let consumed = 0

  // The first failure of any call, or the abort, interrupts whatever is being awaited, so a
  // late chunk's failure is not hidden behind an earlier slow one. (Not a long-lived promise
  // raced on every wait: each race would leave a reaction holding its result until the end.)
  let failure: { reason: unknown } | undefined
  let interrupt: ((reason: unknown) => void) | undefined
  const fail = (reason: unknown): void => {
    failure ??= { reason }
    interrupt?.(failure.reason)
  }
  const untilFailure = async <T>(value: T | Promise<T>): Promise<T> => {
    if (failure != null) throw failure.reason
    try {
      return await new Promise<T>((resolve, reject) => {
        interrupt = reject
        Promise.resolve(value).then(resolve, reject)
      })
    } finally {
      interrupt = undefined
    }
  }
  const onAbort = (): void => { fail(signal?.reason) }
  signal?.addEventListener('abort', onAbort, { once: true })

  const consumeOldest = async (): Promise<void> => {
    const result = await untilFailure(pending[0] as Promise<O>)
    void pending.shift() // settled: no longer in flight
    await consume(result, consumed++)
  }

  try {
    signal?.throwIfAborted()
    while (true) {
      if (pending.length >= limit) {
        await consumeOldest()
        continue
      }
      const next = await untilFailure(iterator.next())
      if (next.done === true) break
      const index = started++
      const running = (async () => await work(next.value, index))()
      running.catch(fail)
      pending.push(running)
    }
    while (pending.length > 0) await consumeOldest()
    signal?.throwIfAborted()
    return consumed
  } catch (err) {
    await Promise.allSettled(pending)
    await Promise.resolve(iterator.return?.()).catch(() => {})
    throw err
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}
