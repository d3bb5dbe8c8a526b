import { AdaptiveTimeout, Queue } from '@libp2p/utils'
import { afterEach, describe, expect, it, vi } from 'vitest'

/**
 * The `@libp2p/utils` patch (patches/README.md, "Per-request timers and errors"): a request's
 * timeout is a timer its cleanup clears, and a job queue builds no error for recipients it has
 * already answered.
 */
describe('per-request timers and errors (patched @libp2p/utils)', () => {
  afterEach(() => { vi.useRealTimers() })

  it('AdaptiveTimeout: cleanUp clears the timer; a request not cleaned up still times out', () => {
    vi.useFakeTimers()
    const timeout = new AdaptiveTimeout({ minTimeout: 1_000, maxTimeout: 5_000 })
    const answered = timeout.getTimeoutSignal()
    expect(vi.getTimerCount()).toBe(1)
    timeout.cleanUp(answered)
    expect(vi.getTimerCount()).toBe(0)
    expect(answered.aborted).toBe(false)
    const hanging = timeout.getTimeoutSignal()
    vi.advanceTimersByTime(hanging.timeout + 1)
    expect(hanging.aborted).toBe(true)
    expect((hanging.reason as Error).name).toBe('TimeoutError')
  })

  it('AdaptiveTimeout: the caller\'s own signal still aborts the request', () => {
    const caller = new AbortController()
    const timeout = new AdaptiveTimeout()
    const signal = timeout.getTimeoutSignal({ signal: caller.signal })
    caller.abort(new Error('gone'))
    expect(signal.aborted).toBe(true)
    timeout.cleanUp(signal)
  })

  it('Queue: a job marks the recipients it answered, so its cleanup builds them no AbortError', async () => {
    const queue = new Queue<number>({ concurrency: 1 })
    const first = queue.add(async () => await Promise.resolve(1))
    const controller = new AbortController()
    const second = queue.add(async () => await Promise.resolve(2), { signal: controller.signal })
    const third = queue.add(async () => await Promise.reject<number>(new Error('no')))
    const [, secondJob, thirdJob] = queue.queue
    const recipients = [secondJob?.recipients[0], thirdJob?.recipients[0]] as Array<{ settled?: boolean }>
    controller.abort(new Error('not wanted'))
    await expect(second).rejects.toThrow('not wanted')
    expect(await first).toBe(1)
    await expect(third).rejects.toThrow('no')
    expect(recipients.map(r => r.settled)).toEqual([true, true])
  })
})
