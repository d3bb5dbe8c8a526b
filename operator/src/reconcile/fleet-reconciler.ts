import { createHash } from 'node:crypto'
import {
  ANCHOR_FLEET, FLEET_FINALIZER, FORCE_SCALE_DOWN_ANNOTATION, anchorFleetSpecSchema
} from '@meganet/contracts'
import { ANCHOR_APP, desiredFleetObjects, fleetNames, selectorLabels } from '@meganet/cdk8s'
import { apiErrorMessage, isNotFound } from '../kube/kube-client.js'
import { AnnounceSync } from './announce-sync.js'
import { autoscaleDecision } from './autoscale.js'
import { FleetEvents } from './events.js'
import { fleetStatus } from './fleet-status.js'
import { planScaleDown } from './scale-down.js'
import type { FleetLinks } from '../fleet-link/fleet-links.js'
import type { Kube } from '../kube/kube-client.js'
import type { OperatorMetrics } from '../operator-metrics.js'
import type { ReconcileResult } from '../work-queue.js'
import type { AnchorFleet, AnchorFleetStatus, MemberRecord } from '@meganet/contracts'
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node'
import type { Logger } from 'pino'

/** While a fleet's NATS-reported state is in motion (anchors starting, drains), look again this soon. */
const BUSY_REQUEUE_MS = 2_000
/**
 * How often a fleet that peers with other operators' fleets is looked at again: its anchors
 * report peering health over NATS, which nothing watches.
 */
const PEERING_REQUEUE_MS = 30_000
/** How soon to look again while the caches are re-listing. */
const UNSYNCED_REQUEUE_MS = 1_000

/** The API server refused one of the fleet's objects (quota, exhausted Service range, invalid pod template…). */
export class ApplyError extends Error {
  constructor (object: string, cause: unknown) {
    super(`cannot apply ${object}: ${apiErrorMessage(cause)}`, { cause })
    this.name = 'ApplyError'
  }
}
/** A finalizer waits this long for anchors to drain before letting the fleet go. */
const FINALIZER_DRAIN_TIMEOUT_MS = 60_000

export interface ReconcilerInit {
  readonly kube: Kube
  readonly links: FleetLinks
  readonly metrics: OperatorMetrics
  readonly defaultImage: string
  /** PeerIds of the operator keys the fleet's anchors trust with commands. */
  readonly operatorKeys: readonly string[]
  readonly version: string
  readonly log: Logger
  /** Cached reads (informers). */
  readonly fleet: (namespace: string, name: string) => AnchorFleet | undefined
  readonly statefulSet: (namespace: string, name: string) => V1StatefulSet | undefined
  readonly pods: (namespace: string, instance: string) => readonly V1Pod[]
  /**
   * Whether the StatefulSet and pod caches hold a full list. While they do not (start, watch
   * restart), a missing StatefulSet is unknown rather than absent, and acting on it could scale
   * a fleet down without draining: reconciles wait instead.
   */
  readonly cachesSynced: () => boolean
  /** Live member records are stale after this long. */
  readonly memberTtlMs: number
}

/** JSON with object keys sorted, so two equal values compare equal whatever their key order. */
function canonical (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => v != null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
    : v)
}

function memberTtl (members: readonly MemberRecord[], fallbackMs: number): number {
  return members.length > 0 ? Math.max(...members.map(m => m.heartbeatMs * 3)) : fallbackMs
}

/**
 * One reconcile of one fleet, top to bottom: validate, handle deletion, keep the finalizer,
 * apply the desired objects (skipped when unchanged), scale down only after draining, follow
 * load when autoscaling, and write the status (skipped when unchanged).
 */
export class FleetReconciler {
  private readonly init: ReconcilerInit
  private readonly applied = new Map<string, string>()
  /** The last apply failure reported per fleet, so a retried failure records no second event. */
  private readonly applyFailures = new Map<string, string>()
  private readonly finalizingSince = new Map<string, number>()
  private readonly announce: AnnounceSync
  private readonly events: FleetEvents

  constructor (init: ReconcilerInit) {
    this.init = init
    this.announce = new AnnounceSync({ kube: init.kube, version: init.version })
    this.events = new FleetEvents({ kube: init.kube })
  }

  /** Forget what was applied, so the next reconcile of every fleet applies again (resync). */
  forgetApplied (): void {
    this.applied.clear()
  }

  async reconcile (key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string]
    const fleet = this.init.fleet(namespace, name)
    if (fleet == null) {
      this.applied.delete(key)
      this.announce.forget(key)
      this.applyFailures.delete(key)
      return {}
    }
    const log = this.init.log.child({ fleet: key })
    if (!this.init.cachesSynced()) {
      log.debug('caches are re-listing; waiting before acting')
      return { requeueAfterMs: UNSYNCED_REQUEUE_MS }
    }
    const parsed = anchorFleetSpecSchema.safeParse(fleet.spec)
    if (!parsed.success) {
      const message = `invalid spec: ${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}`
      await this.writeStatus(fleet, fleetStatus({ fleet, pods: [], selector: '', degraded: message, now: new Date().toISOString() }))
      await this.events.record(fleet, 'Warning', 'InvalidSpec', message, log)
      return {}
    }
    const spec = parsed.data
    const names = fleetNames(name)
    const members = await this.members(fleet, log)

    if (fleet.metadata.deletionTimestamp != null) return await this.finalize(fleet, members, log)
    if (!(fleet.metadata.finalizers ?? []).includes(FLEET_FINALIZER)) await this.addFinalizer(fleet)

    const statefulSet = this.init.statefulSet(namespace, names.statefulSet)
    const current = statefulSet?.spec?.replicas ?? spec.replicas
    const force = fleet.metadata.annotations?.[FORCE_SCALE_DOWN_ANNOTATION] === 'true'
    const plan = planScaleDown({
      current, desired: spec.replicas, podName: names.pod, members: members?.list,
      storesData: spec.roles.includes('storage'), force
    })
    let replicas = spec.replicas
    let scaleDown: { active: boolean, message: string } | undefined
    let degraded: string | undefined
    if (plan.kind === 'drain') {
      replicas = current
      scaleDown = { active: true, message: `draining before removal: ${plan.progress}` }
      for (const peerId of plan.drain) {
        this.init.kube.assertMayWrite(`drain ${peerId}`)
        await members?.client.command(peerId, 'drain').then(
          async () => { this.init.metrics.scaleActions.inc({ action: 'drain' }); await this.events.record(fleet, 'Normal', 'DrainingAnchor', `draining anchor ${peerId} before scale-down`, log) },
          (err: unknown) => { log.warn({ peerId, err: (err as Error).message }, 'drain command failed') })
      }
    } else if (plan.kind === 'refuse') {
      replicas = current
      degraded = `scale-down refused: ${plan.reason}`
      scaleDown = { active: true, message: degraded }
      await this.events.record(fleet, 'Warning', 'ScaleDownRefused', plan.reason, log)
    } else if (plan.kind === 'remove' && current > plan.replicas) {
      this.init.metrics.scaleActions.inc({ action: 'remove' })
      await this.events.record(fleet, 'Normal', 'ScaledDown', `removing anchors ${plan.replicas}..${current - 1}${force ? ' (forced)' : ' after they drained'}`, log)
    }

    let applyError: ApplyError | undefined
    if (!spec.paused) {
      try {
        await this.applyDesired(key, { ...fleet, spec }, replicas, statefulSet)
      } catch (err) {
        if (!(err instanceof ApplyError)) throw err
        applyError = err
        degraded ??= err.message
        // One event per distinct failure: the retries come faster than our own status write reaches the cache.
        if (this.applyFailures.get(key) !== err.message) await this.events.record(fleet, 'Warning', 'ApplyFailed', err.message, log)
        this.applyFailures.set(key, err.message)
      }
      if (applyError == null) this.applyFailures.delete(key)
      // Where each anchor is reachable from outside (NodePort, HostPort, LoadBalancer), for its announce addresses.
      if (applyError == null) await this.announce.sync({ ...fleet, spec }, this.init.pods(namespace, name))
    }

    let lastScaleTime = fleet.status?.lastScaleTime
    if (!spec.paused && spec.autoscaling != null && members != null && plan.kind === 'none') {
      const target = autoscaleDecision({
        autoscaling: spec.autoscaling, replicas: spec.replicas, members: members.list,
        ...(lastScaleTime != null ? { lastScaleTime: Date.parse(lastScaleTime) } : {}), now: Date.now()
      })
      if (target != null) {
        await this.scaleTo(fleet, target)
        lastScaleTime = new Date().toISOString()
        this.init.metrics.scaleActions.inc({ action: target > spec.replicas ? 'autoscale_up' : 'autoscale_down' })
        await this.events.record(fleet, 'Normal', 'Autoscaled', `load asks for ${target} anchors (was ${spec.replicas})`, log)
      }
    }

    const status = fleetStatus({
      fleet: { ...fleet, status: { ...fleet.status, ...(lastScaleTime != null ? { lastScaleTime } : {}) } },
      ...(statefulSet != null ? { statefulSet } : {}),
      pods: this.init.pods(namespace, name),
      ...(members != null ? { members: members.list } : {}),
      selector: Object.entries(selectorLabels(ANCHOR_APP, name)).map(([k, v]) => `${k}=${v}`).join(','),
      ...(scaleDown != null ? { scaleDown } : {}),
      ...(degraded != null ? { degraded } : members == null && spec.nats != null ? { degraded: 'cannot reach NATS: anchor phases and load are unknown' } : {}),
      now: new Date().toISOString()
    })
    await this.writeStatus(fleet, status)
    // Reported in the status; now let the queue retry it with backoff.
    if (applyError != null) throw applyError
    // The watches report every pod and StatefulSet change; what NATS reports (anchor phases,
    // load, drains) is not watched, so poll it while something is in motion.
    // Ready pods whose records NATS does not show yet (NATS came up after them) count as motion too:
    // the bootstrap list waits for them.
    const unseen = spec.nats != null && (members?.list.filter(m => m.phase === 'serving').length ?? 0) < (status.readyReplicas ?? 0)
    const busy = scaleDown?.active === true || spec.autoscaling?.enabled === true || (status.phase !== 'Ready' && spec.nats != null) || unseen
    if (busy) return { requeueAfterMs: BUSY_REQUEUE_MS }
    return spec.nats != null && (spec.peering?.length ?? 0) > 0 ? { requeueAfterMs: PEERING_REQUEUE_MS } : {}
  }

  private async members (fleet: AnchorFleet, log: Logger): Promise<{ list: MemberRecord[], client: Awaited<ReturnType<FleetLinks['client']>> } | undefined> {
    const url = fleet.spec.nats?.url
    if (url == null) return undefined
    try {
      const client = await this.init.links.client(url, { region: fleet.spec.region, fleet: fleet.metadata.name })
      const all = await client.members(this.init.memberTtlMs)
      const list = all.filter(m => Date.now() - m.updatedAt <= memberTtl(all, this.init.memberTtlMs))
      return { list, client }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot read the fleet from NATS')
      return undefined
    }
  }

  private async applyDesired (key: string, fleet: AnchorFleet, replicas: number, statefulSet: V1StatefulSet | undefined): Promise<void> {
    const objects = desiredFleetObjects({ fleet, defaultImage: this.init.defaultImage, replicas, version: this.init.version, operatorKeys: this.init.operatorKeys })
    const hash = createHash('sha256').update(JSON.stringify(objects)).digest('hex')
    if (this.applied.get(key) === hash && statefulSet != null) return
    for (const object of objects) {
      await this.init.kube.apply(object).catch((err: unknown) => { throw new ApplyError(`${object.kind}/${object.metadata.name}`, err) })
    }
    await this.pruneAnchorServices(fleet, replicas)
    this.applied.set(key, hash)
  }

  /** Per-anchor Services of ordinals the fleet no longer has. */
  private async pruneAnchorServices (fleet: AnchorFleet, replicas: number): Promise<void> {
    const selector = Object.entries(selectorLabels(ANCHOR_APP, fleet.metadata.name)).map(([k, v]) => `${k}=${v}`).join(',')
    const services = await this.init.kube.call('list', async () => await this.init.kube.core.listNamespacedService({ namespace: fleet.metadata.namespace, labelSelector: selector }))
    const names = fleetNames(fleet.metadata.name)
    for (const service of services.items) {
      const match = /-anchor-(\d+)$/.exec(service.metadata?.name ?? '')
      if (match == null || Number(match[1]) < replicas || service.metadata?.name !== names.anchorService(Number(match[1]))) continue
      await this.init.kube.call('delete', async () => await this.init.kube.core.deleteNamespacedService({ name: service.metadata?.name ?? '', namespace: fleet.metadata.namespace }))
        .catch((err: unknown) => { if (!isNotFound(err)) throw err })
    }
  }

  private async scaleTo (fleet: AnchorFleet, replicas: number): Promise<void> {
    await this.init.kube.call<unknown>('patch', async (): Promise<unknown> => await this.init.kube.custom.patchNamespacedCustomObjectScale({
      group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, plural: ANCHOR_FLEET.plural,
      namespace: fleet.metadata.namespace, name: fleet.metadata.name,
      body: [{ op: 'replace', path: '/spec/replicas', value: replicas }]
    }))
  }

  private async addFinalizer (fleet: AnchorFleet): Promise<void> {
    const finalizers = fleet.metadata.finalizers
    const patch = finalizers == null
      ? [{ op: 'add', path: '/metadata/finalizers', value: [FLEET_FINALIZER] }]
      : [{ op: 'add', path: '/metadata/finalizers/-', value: FLEET_FINALIZER }]
    await this.patchFleet(fleet, patch)
  }

  /** The fleet is going: ask its anchors to drain (bounded), then let Kubernetes collect it. */
  private async finalize (fleet: AnchorFleet, members: { list: MemberRecord[], client: Awaited<ReturnType<FleetLinks['client']>> } | undefined, log: Logger): Promise<ReconcileResult> {
    const key = `${fleet.metadata.namespace}/${fleet.metadata.name}`
    const index = (fleet.metadata.finalizers ?? []).indexOf(FLEET_FINALIZER)
    if (index < 0) return {}
    const since = this.finalizingSince.get(key) ?? Date.now()
    this.finalizingSince.set(key, since)
    const pending = (members?.list ?? []).filter(m => m.phase !== 'drained')
    if (pending.length > 0 && Date.now() - since < FINALIZER_DRAIN_TIMEOUT_MS) {
      for (const member of pending.filter(m => m.phase === 'serving' || m.phase === 'joining')) {
        this.init.kube.assertMayWrite(`drain ${member.peerId}`)
        await members?.client.command(member.peerId, 'drain').catch(() => {})
      }
      return { requeueAfterMs: BUSY_REQUEUE_MS }
    }
    if (pending.length > 0) await this.events.record(fleet, 'Warning', 'DrainTimeout', `${pending.length} anchors had not drained after ${FINALIZER_DRAIN_TIMEOUT_MS / 1000} s; deleting anyway`, log)
    await this.patchFleet(fleet, [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: FLEET_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${index}` }
    ])
    this.finalizingSince.delete(key)
    this.applied.delete(key)
    return {}
  }

  private async patchFleet (fleet: AnchorFleet, patch: unknown[]): Promise<void> {
    await this.init.kube.call<unknown>('patch', async (): Promise<unknown> => await this.init.kube.custom.patchNamespacedCustomObject({
      group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, plural: ANCHOR_FLEET.plural,
      namespace: fleet.metadata.namespace, name: fleet.metadata.name, body: patch
    }))
  }

  /** Writes the status through the status subresource, unless nothing changed. */
  private async writeStatus (fleet: AnchorFleet, status: AnchorFleetStatus): Promise<void> {
    if (canonical(fleet.status ?? {}) === canonical(status)) return
    await this.init.kube.call<unknown>('patch', async (): Promise<unknown> => await this.init.kube.custom.patchNamespacedCustomObjectStatus({
      group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, plural: ANCHOR_FLEET.plural,
      namespace: fleet.metadata.namespace, name: fleet.metadata.name,
      body: [{ op: 'add', path: '/status', value: status }]
    }))
  }
}
