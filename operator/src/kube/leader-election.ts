import { isConflict, isNotFound } from './kube-client.js'
import type { Kube } from './kube-client.js'
import type { V1Lease } from '@kubernetes/client-node'
import type { Logger } from 'pino'

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

function microTime (date: Date): Date {
  return date
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
  private stopped = false

  constructor (init: LeaderElectionInit) {
    this.init = init
  }

  get isLeader (): boolean { return this.leading }

  /** Resolves once this replica leads; keeps renewing afterwards. */
  async run (onLost: () => void): Promise<void> {
    await new Promise<void>(resolve => {
      const attempt = async (): Promise<void> => {
        if (this.stopped) return
        const held = await this.tryAcquireOrRenew().catch((err: unknown) => {
          this.init.log.warn({ err: (err as Error).message }, 'lease request failed')
          return false
        })
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
        this.timer = setTimeout(() => { void attempt() }, this.leading ? this.init.renewIntervalMs : this.init.renewIntervalMs)
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
      await this.init.kube.call('update', async () => await this.init.kube.coordination.replaceNamespacedLease({
        name: this.init.name, namespace: this.init.namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined, acquireTime: undefined } }
      }))
    } catch (err) {
      this.init.log.debug({ err: (err as Error).message }, 'could not release the lease')
    }
  }

  private async read (): Promise<V1Lease | undefined> {
    try {
      return await this.init.kube.call('get', async () => await this.init.kube.coordination.readNamespacedLease({ name: this.init.name, namespace: this.init.namespace }))
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  private async tryAcquireOrRenew (): Promise<boolean> {
    const now = new Date()
    const durationSeconds = Math.ceil(this.init.leaseDurationMs / 1000)
    const lease = await this.read()
    if (lease == null) {
      try {
        await this.init.kube.call('create', async () => await this.init.kube.coordination.createNamespacedLease({
          namespace: this.init.namespace,
          body: {
            metadata: { name: this.init.name, namespace: this.init.namespace },
            spec: { holderIdentity: this.init.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 }
          }
        }))
        return true
      } catch (err) {
        if (isConflict(err)) return false
        throw err
      }
    }
    const spec = lease.spec ?? {}
    const holder = spec.holderIdentity
    const renewed = spec.renewTime != null ? new Date(spec.renewTime).getTime() : 0
    const expired = renewed + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 < now.getTime()
    if (holder != null && holder !== this.init.identity && !expired) return false
    const taking = holder !== this.init.identity
    try {
      await this.init.kube.call('update', async () => await this.init.kube.coordination.replaceNamespacedLease({
        name: this.init.name,
        namespace: this.init.namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: this.init.identity,
            leaseDurationSeconds: durationSeconds,
            renewTime: microTime(now),
            ...(taking ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {})
          }
        }
      }))
      return true
    } catch (err) {
      // Someone else wrote the lease since we read it: they won this round.
      if (isConflict(err)) return false
      throw err
    }
  }
}
