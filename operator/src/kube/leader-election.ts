import { isConflict, isNotFound } from './kube-client.js'
import type { Kube } from './kube-client.js'
import type { Logger } from 'pino'

/** A Lease as JSON: times as MicroTime text, which the API server insists on. */
interface Lease {
  apiVersion: 'coordination.k8s.io/v1'
  kind: 'Lease'
  metadata: { name: string, namespace: string, resourceVersion?: string }
  spec?: { holderIdentity?: string | null, leaseDurationSeconds?: number, acquireTime?: string | null, renewTime?: string | null, leaseTransitions?: number }
}

const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' } as const

export interface LeaderElectionInit {
  readonly kube: Kube
  readonly namespace: string
  readonly name: string
  /** This replica's identity (its pod name). */
  readonly identity: string
  /** A lease not renewed for this long may be taken over. */
  readonly leaseDurationMs: number
  /** How often the leader renews (well under the duration). */
  readonly renewIntervalMs: number
  readonly log: Logger
}

/**
 * RFC 3339 with exactly six fractional digits. client-node's typed Lease API sends
 * milliseconds, which the API server refuses for MicroTime fields, so leases go through the
 * untyped custom-objects client with the times written here.
 */
function microTime (date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** `promise`, or a rejection once `ms` have passed without it settling. */
async function beforeDeadline<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`lease renewal unanswered within ${Math.round(ms)} ms`)) }, Math.max(0, ms))
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Leader election on a coordination.k8s.io Lease (client-node has none): take the lease when it
 * is free or expired, renew it while leading, and use the Lease's resourceVersion so two
 * replicas can never both win. Losing the lease calls `onLost`.
 */
export class LeaderElection {
  private readonly init: LeaderElectionInit
  private timer?: NodeJS.Timeout
  private leading = false
  private lastRenewedAt = 0
  private stopped = false
  /** The lease record as last seen, and when (`performance.now()`, this replica's clock) it was first seen so. */
  private observed?: { record: string, atMs: number }

  constructor (init: LeaderElectionInit) {
    this.init = init
  }

  get isLeader (): boolean { return this.leading }

  /**
   * Until when (`performance.now()` time) this replica may act as leader: its renew deadline, two
   * thirds of the lease after the last renewal was sent. 0 when not leading. Writes are fenced
   * on this as well as on losing the lease, so a replica that was frozen (SIGSTOP, a paused VM)
   * writes nothing on waking even before its renewal timer has run.
   */
  leadingUntil (): number {
    return this.leading ? this.lastRenewedAt + (this.init.leaseDurationMs * 2) / 3 : 0
  }

  /** Resolves once this replica leads; keeps renewing afterwards. */
  async run (onLost: () => void): Promise<void> {
    this.stopped = false
    await new Promise<void>(resolve => {
      const attempt = async (): Promise<void> => {
        if (this.stopped) return
        // Measured from before the request is sent: the other replicas start their lease
        // duration no earlier than the write lands, so this deadline passes before they may take it.
        const sentAt = performance.now()
        const request = this.tryAcquireOrRenew()
        // A renewal that hangs must not keep this replica leading past its deadline.
        const held = await (this.leading ? beforeDeadline(request, this.leadingUntil() - performance.now()) : request).catch((err: unknown) => {
          // An unanswered renewal is not a lost lease: keep leading until the renew deadline,
          // two thirds of the lease, has passed without one (the API server may be restarting).
          this.init.log.warn({ err: (err as Error).message }, 'lease request failed')
          return this.leading && performance.now() < this.leadingUntil()
        })
        if (held) this.lastRenewedAt = sentAt
        if (held && !this.leading) {
          this.leading = true
          this.init.log.info({ lease: this.init.name, identity: this.init.identity }, 'became leader')
          resolve()
        } else if (!held && this.leading) {
          this.leading = false
          this.init.log.warn({ lease: this.init.name }, 'lost leadership')
          onLost()
          return
        }
        this.timer = setTimeout(() => { void attempt() }, this.init.renewIntervalMs)
      }
      void attempt()
    })
  }

  /** Gives the lease up so a standby takes over at once. */
  async release (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    if (!this.leading) return
    this.leading = false
    try {
      const lease = await this.read()
      if (lease?.spec?.holderIdentity !== this.init.identity) return
      await this.replace({ ...lease, spec: { ...lease.spec, holderIdentity: null, renewTime: null, acquireTime: null } })
    } catch (err) {
      this.init.log.debug({ err: (err as Error).message }, 'could not release the lease')
    }
  }

  private async read (): Promise<Lease | undefined> {
    try {
      return await this.init.kube.call('get', async (): Promise<Lease> => await this.init.kube.custom.getNamespacedCustomObject({
        ...LEASES, namespace: this.init.namespace, name: this.init.name
      }) as Lease)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  private async replace (lease: Lease): Promise<void> {
    await this.init.kube.call('update', async (): Promise<unknown> => await this.init.kube.custom.replaceNamespacedCustomObject({
      ...LEASES, namespace: this.init.namespace, name: this.init.name, body: lease
    }))
  }

  private async tryAcquireOrRenew (): Promise<boolean> {
    const now = new Date()
    const durationSeconds = Math.ceil(this.init.leaseDurationMs / 1000)
    const lease = await this.read()
    if (lease == null) {
      try {
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.init.name, namespace: this.init.namespace },
          spec: { holderIdentity: this.init.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 }
        }
        await this.init.kube.call('create', async (): Promise<unknown> => await this.init.kube.custom.createNamespacedCustomObject({
          ...LEASES, namespace: this.init.namespace, body
        }))
        return true
      } catch (err) {
        if (isConflict(err)) return false
        throw err
      }
    }
    const spec = lease.spec ?? {}
    const holder = spec.holderIdentity
    // Expiry is measured from when this replica saw the record change, as client-go does, never
    // from the holder's renewTime: with the holder's clock behind ours, comparing its renewTime
    // with our clock would take a lease that is being renewed, and make two leaders.
    const record = JSON.stringify([holder, spec.renewTime, spec.leaseDurationSeconds, lease.metadata.resourceVersion])
    const seenAt = performance.now()
    if (this.observed?.record !== record) this.observed = { record, atMs: seenAt }
    const expired = this.observed.atMs + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 < seenAt
    if (holder != null && holder !== this.init.identity && !expired) return false
    const taking = holder !== this.init.identity
    try {
      await this.replace({
        ...lease,
        spec: {
          ...spec,
          holderIdentity: this.init.identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: microTime(now),
          ...(taking ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {})
        }
      })
      return true
    } catch (err) {
      // Someone else wrote the lease since we read it: they won this round.
      if (isConflict(err)) return false
      throw err
    }
  }
}
