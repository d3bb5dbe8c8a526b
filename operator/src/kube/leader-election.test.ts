import { ApiException } from '@kubernetes/client-node'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LeaderElection } from './leader-election.js'
import type { Kube } from './kube-client.js'

interface StoredLease { metadata: { name: string, namespace: string, resourceVersion?: string }, spec?: Record<string, unknown> }

/** The Lease part of the API server: one object, optimistic concurrency on resourceVersion. */
class LeaseApi {
  lease?: StoredLease
  /** Cut off: every request from now on hangs, unanswered. */
  unreachable = false
  private version = 0

  write (lease: StoredLease): void {
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } }
  }

  kube (): Kube {
    const api = {
      call: async <T>(_verb: string, fn: () => Promise<T>): Promise<T> => this.unreachable ? await new Promise<never>(() => {}) : await fn(),
      custom: {
        getNamespacedCustomObject: async () => {
          if (this.lease == null) throw new ApiException(404, 'not found', {}, {})
          return await Promise.resolve(structuredClone(this.lease))
        },
        createNamespacedCustomObject: async ({ body }: { body: StoredLease }) => {
          if (this.lease != null) throw new ApiException(409, 'exists', {}, {})
          this.write(body)
          return await Promise.resolve(this.lease)
        },
        replaceNamespacedCustomObject: async ({ body }: { body: StoredLease }) => {
          if (body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) throw new ApiException(409, 'conflict', {}, {})
          this.write(body)
          return await Promise.resolve(this.lease)
        }
      }
    }
    return api as unknown as Kube
  }
}

const HOUR_MS = 3_600_000

describe('leader election', () => {
  beforeEach(() => { vi.useFakeTimers({ now: new Date('2026-12-03T10:00:00Z') }) })
  afterEach(() => { vi.useRealTimers() })

  it('measures a lease\'s expiry on its own clock: a holder whose clock is an hour behind keeps the lease while it renews', async () => {
    const api = new LeaseApi()
    // The holder renews every 2 s, writing renewTimes from a clock one hour behind ours.
    const renew = (): void => {
      api.write({
        metadata: { name: 'operator', namespace: 'meganet', ...(api.lease != null ? { resourceVersion: api.lease.metadata.resourceVersion } : {}) },
        spec: { holderIdentity: 'skewed-leader', leaseDurationSeconds: 6, renewTime: new Date(Date.now() - HOUR_MS).toISOString() }
      })
    }
    renew()
    const renewing = setInterval(renew, 2_000)

    const standby = new LeaderElection({
      kube: api.kube(), namespace: 'meganet', name: 'operator', identity: 'standby', leaseDurationMs: 6_000, renewIntervalMs: 500, log: pino({ level: 'silent' })
    })
    let leading = false
    void standby.run(() => {}).then(() => { leading = true })
    await vi.advanceTimersByTimeAsync(30_000)
    expect(leading).toBe(false)
    expect(api.lease?.spec?.holderIdentity).toBe('skewed-leader')

    // The holder stops renewing: the standby takes over one lease duration later, not before.
    clearInterval(renewing)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(leading).toBe(false)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(leading).toBe(true)
    expect(api.lease?.spec?.holderIdentity).toBe('standby')
    await standby.release()
  })

  it('stops leading by its renew deadline when a renewal hangs, before anyone else may take the lease', async () => {
    const api = new LeaseApi()
    const leader = new LeaderElection({
      kube: api.kube(), namespace: 'meganet', name: 'operator', identity: 'leader', leaseDurationMs: 6_000, renewIntervalMs: 500, log: pino({ level: 'silent' })
    })
    let lostAt: number | undefined
    const start = Date.now()
    await leader.run(() => { lostAt = Date.now() })
    api.unreachable = true
    await vi.advanceTimersByTimeAsync(10_000)
    expect(leader.isLeader).toBe(false)
    // Lost within two thirds of the lease after its last renewal (4 s, plus one renew interval).
    expect(lostAt! - start).toBeLessThanOrEqual(4_500)
    await leader.release()
  })

  it('fences its writes at two thirds of the lease after the last renewal was sent, even when no timer of its own has run', async () => {
    const api = new LeaseApi()
    const leader = new LeaderElection({
      kube: api.kube(), namespace: 'meganet', name: 'operator', identity: 'leader', leaseDurationMs: 6_000, renewIntervalMs: 500, log: pino({ level: 'silent' })
    })
    const sentAt = performance.now()
    await leader.run(() => {})
    expect(leader.leadingUntil()).toBe(sentAt + 4_000)
    await vi.advanceTimersByTimeAsync(1_000)
    // Renewed (every 500 ms): the deadline moved with the last renewal.
    expect(leader.leadingUntil()).toBeGreaterThanOrEqual(sentAt + 4_500)
    // A standby may take the lease one duration after it last saw it change: the fence is down by then.
    const lastWrite = performance.now()
    expect(leader.leadingUntil()).toBeLessThan(lastWrite + 6_000)
    await leader.release()
    expect(leader.leadingUntil()).toBe(0)
  })
})
