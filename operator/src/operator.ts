import { createServer } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import express from 'express'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { ANCHOR_APP } from '@meganet/cdk8s'
import { keyId } from '@meganet/fleet-client'
import { FleetLinks } from './fleet-link/fleet-links.js'
import { anchorPodAt } from './nats-auth/anchor-pods.js'
import { NatsAuth } from './nats-auth/nats-auth.js'
import type { SigningKey } from '@meganet/fleet-client'
import { Kube } from './kube/kube-client.js'
import { LeaderElection } from './kube/leader-election.js'
import { NamespacedInformers } from './kube/namespaced-informers.js'
import { OperatorMetrics } from './operator-metrics.js'
import { DefaultFleet } from './reconcile/default-fleet.js'
import { FleetReconciler } from './reconcile/fleet-reconciler.js'
import { WorkQueue } from './work-queue.js'
import type { OperatorConfig } from './operator-config.js'
import type { AnchorFleet } from '@meganet/contracts'
import type { KubernetesListObject, KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'

const ANCHOR_SELECTOR = `app.kubernetes.io/name=${ANCHOR_APP}`
/** How long standing down waits for the reconciles in flight. */
const STAND_DOWN_WAIT_MS = 30_000

/** An AnchorFleet as the watch delivers it: a plain object whose spec the reconciler validates. */
type WatchedFleet = KubernetesObject & { spec?: unknown, status?: AnchorFleet['status'] }

/** The contracts' view of a watched fleet (timestamps as text, whatever the client parsed). */
function toAnchorFleet (object: WatchedFleet): AnchorFleet {
  const m = object.metadata ?? {}
  const optional = <K extends string, V>(key: K, value: V | undefined | null): Partial<Record<K, V>> => (value != null ? { [key]: value } as Record<K, V> : {})
  return {
    apiVersion: ANCHOR_FLEET.apiVersion,
    kind: ANCHOR_FLEET.kind,
    metadata: {
      name: m.name ?? '',
      namespace: m.namespace ?? '',
      ...optional('uid', m.uid),
      ...optional('generation', m.generation),
      ...optional('resourceVersion', m.resourceVersion),
      ...optional('labels', m.labels),
      ...optional('annotations', m.annotations),
      ...optional('finalizers', m.finalizers),
      ...optional('deletionTimestamp', m.deletionTimestamp != null ? new Date(m.deletionTimestamp).toISOString() : undefined)
    },
    spec: object.spec as AnchorFleet['spec'],
    ...optional('status', object.status)
  }
}

function fleetKeyOf (object: { metadata?: { namespace?: string, labels?: Record<string, string> } }): string | undefined {
  const instance = object.metadata?.labels?.['app.kubernetes.io/instance']
  const namespace = object.metadata?.namespace
  return instance != null && namespace != null ? `${namespace}/${instance}` : undefined
}

/**
 * The operator process: serves health and metrics at once, waits to lead (Lease), then
 * watches AnchorFleets, their StatefulSets and pods, and reconciles each fleet through a
 * per-key queue with a periodic resync.
 */
export class Operator {
  readonly metrics = new OperatorMetrics()
  private readonly config: OperatorConfig
  private readonly log: Logger
  private readonly kube: Kube
  private readonly links: FleetLinks
  private readonly election: LeaderElection
  private readonly natsAuth?: NatsAuth
  private fleets?: NamespacedInformers<WatchedFleet>
  private statefulSets?: NamespacedInformers<V1StatefulSet>
  private pods?: NamespacedInformers<V1Pod>
  private queue?: WorkQueue
  private reconciler?: FleetReconciler
  private defaultFleet?: DefaultFleet
  private resyncTimer?: NodeJS.Timeout
  /** Aborted the moment this replica stops leading: every write of the term checks it. */
  private term?: AbortController
  private servers: Server[] = []
  private stopped = false

  /** PeerIds of the key that signs this operator's commands: each fleet's anchors are configured to trust them. */
  private readonly operatorKeys: readonly string[]

  constructor (config: OperatorConfig, log: Logger, keys: { commandKey?: SigningKey } = {}) {
    this.config = config
    this.log = log
    this.kube = new Kube(Kube.load(config.kubeconfig), this.metrics)
    this.links = new FleetLinks(log, {
      ...(config.natsCredsFile != null ? { credsFile: config.natsCredsFile } : {}),
      ...(keys.commandKey != null ? { commandKey: keys.commandKey } : {}),
      ...(config.natsCaFile != null ? { caFile: config.natsCaFile } : {})
    })
    this.operatorKeys = keys.commandKey != null ? [keyId(keys.commandKey)] : []
    if (keys.commandKey != null && (config.natsAuthServers != null || config.natsAuthConfigMap != null)) {
      this.natsAuth = new NatsAuth({
        key: keys.commandKey,
        ...(config.natsAuthServers != null ? { servers: config.natsAuthServers } : {}),
        ...(config.natsCaFile != null ? { caFile: config.natsCaFile } : {}),
        ...(config.natsAuthConfigMap != null ? { configMap: { namespace: config.namespace, name: config.natsAuthConfigMap } } : {}),
        kube: this.kube,
        logins: this.metrics.natsLogins,
        log
      })
    }
    this.election = new LeaderElection({
      kube: this.kube, namespace: config.namespace, name: config.leaseName, identity: config.identity,
      leaseDurationMs: config.leaseDuration, renewIntervalMs: config.renewInterval, log
    })
  }

  get ports (): { health: number, metrics: number } {
    const port = (server?: Server): number => (server?.address() as AddressInfo | null)?.port ?? 0
    return { health: port(this.servers[0]), metrics: port(this.servers[1]) }
  }

  get isLeader (): boolean { return this.election.isLeader }

  /**
   * Serves health and metrics, then blocks until leading, then runs. When leadership goes, it
   * stops reconciling at once, calls `onLost`, and waits to lead again as a standby.
   */
  async start (onLost: () => void = () => {}): Promise<void> {
    await this.serveHttp()
    this.natsAuth?.start()
    await this.lead(onLost)
  }

  private async lead (onLost: () => void): Promise<void> {
    this.log.info({ identity: this.config.identity, lease: `${this.config.namespace}/${this.config.leaseName}`, ...this.ports }, 'waiting to lead')
    await this.election.run(() => {
      this.term?.abort()
      this.metrics.leader.set(0)
      onLost()
      void this.standDown().then(async () => { if (!this.stopped) await this.lead(onLost) })
    })
    if (this.stopped) return
    this.metrics.leader.set(1)
    await this.run()
  }

  /**
   * Stops watching and reconciling (leadership lost), keeping health and metrics up. Writes
   * stop at once (the term's fence); this returns once the reconciles in flight have ended.
   */
  private async standDown (): Promise<void> {
    this.term?.abort()
    this.natsAuth?.standDown()
    // A standby reports nothing about fleets: stale numbers would add up with the leader's.
    this.metrics.anchors.reset()
    this.metrics.fleets.set(0)
    this.metrics.queueDepth.set(0)
    clearInterval(this.resyncTimer)
    await this.defaultFleet?.stop()
    this.defaultFleet = undefined
    this.queue?.stop()
    // Bounded: a reconcile stuck on a dead connection must not keep this replica from standing by
    // (it can write nothing any more: the fence is down).
    await Promise.race([this.queue?.idle(), delay(STAND_DOWN_WAIT_MS, undefined, { ref: false })])
    await Promise.all([this.fleets?.stop(), this.statefulSets?.stop(), this.pods?.stop()])
    this.fleets = undefined
    this.statefulSets = undefined
    this.pods = undefined
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.standDown()
    await this.election.release()
    await this.links.close()
    await this.natsAuth?.close()
    await Promise.all(this.servers.map(async server => await new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })))
  }

  private async run (): Promise<void> {
    const config = this.kube.config
    this.term = new AbortController()
    // Everything of this term writes through a fenced client: nothing after the lease is lost.
    const kube = new Kube(config, this.metrics, { signal: this.term.signal, until: () => this.election.leadingUntil() })
    this.reconciler = new FleetReconciler({
      kube, links: this.links, metrics: this.metrics, defaultImage: this.config.image, version: this.config.version, log: this.log,
      operatorKeys: this.operatorKeys,
      fleet: (namespace, name) => {
        const watched = this.fleets?.get(name, namespace)
        return watched == null ? undefined : toAnchorFleet(watched)
      },
      statefulSet: (namespace, name) => this.statefulSets?.get(name, namespace),
      pods: (namespace, instance) => (this.pods?.list() ?? []).filter(p => p.metadata?.namespace === namespace && p.metadata.labels?.['app.kubernetes.io/instance'] === instance),
      cachesSynced: () => this.statefulSets?.hasSynced === true && this.pods?.hasSynced === true,
      memberTtlMs: this.config.memberTtl
    })
    const reconciler = this.reconciler
    this.queue = new WorkQueue(async key => {
      const end = this.metrics.reconcileDuration.startTimer()
      try {
        const result = await reconciler.reconcile(key)
        this.metrics.reconciles.inc({ outcome: result.requeueAfterMs != null ? 'requeue' : 'ok' })
        return result
      } finally {
        end()
        this.updateGauges()
      }
    }, (key, err, retryInMs) => {
      this.metrics.reconciles.inc({ outcome: 'error' })
      this.log.warn({ fleet: key, err: (err as Error).message, retryInMs }, 'cannot reconcile fleet; retrying')
    }, ms => { this.metrics.queueWait.observe(ms / 1000) })
    const queue = this.queue
    const enqueue = (object: { metadata?: { namespace?: string, name?: string } }): void => {
      if (object.metadata?.namespace != null && object.metadata.name != null) queue.add(`${object.metadata.namespace}/${object.metadata.name}`)
    }
    const enqueueOwner = (object: { metadata?: { namespace?: string, labels?: Record<string, string> } }): void => {
      const key = fleetKeyOf(object)
      if (key != null) queue.add(key)
    }
    // Every namespace (ClusterRole), or only the listed ones (Roles): one informer per namespace then.
    const namespaces = this.config.watchNamespaces
    const fleetPath = `/apis/${ANCHOR_FLEET.group}/${ANCHOR_FLEET.version}`
    this.fleets = new NamespacedInformers<WatchedFleet>(namespaces, {
      path: ns => ns == null ? `${fleetPath}/${ANCHOR_FLEET.plural}` : `${fleetPath}/namespaces/${ns}/${ANCHOR_FLEET.plural}`,
      list: async ns => await kube.call('list', async () => (ns == null
        ? await kube.custom.listCustomObjectForAllNamespaces({ group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, resourcePlural: ANCHOR_FLEET.plural })
        : await kube.custom.listNamespacedCustomObject({ group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, namespace: ns, plural: ANCHOR_FLEET.plural })) as KubernetesListObject<WatchedFleet>)
    }, { config, onChange: enqueue, onRestart: () => { this.metrics.watchRestarts.inc({ resource: 'anchorfleets' }) }, log: this.log })
    this.statefulSets = new NamespacedInformers<V1StatefulSet>(namespaces, {
      path: ns => ns == null ? '/apis/apps/v1/statefulsets' : `/apis/apps/v1/namespaces/${ns}/statefulsets`,
      list: async ns => await kube.call('list', async () => ns == null
        ? await kube.apps.listStatefulSetForAllNamespaces({ labelSelector: ANCHOR_SELECTOR })
        : await kube.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: ANCHOR_SELECTOR }))
    }, { config, labelSelector: ANCHOR_SELECTOR, onChange: enqueueOwner, onRestart: () => { this.metrics.watchRestarts.inc({ resource: 'statefulsets' }) }, log: this.log })
    this.pods = new NamespacedInformers<V1Pod>(namespaces, {
      path: ns => ns == null ? '/api/v1/pods' : `/api/v1/namespaces/${ns}/pods`,
      list: async ns => await kube.call('list', async () => ns == null
        ? await kube.core.listPodForAllNamespaces({ labelSelector: ANCHOR_SELECTOR })
        : await kube.core.listNamespacedPod({ namespace: ns, labelSelector: ANCHOR_SELECTOR }))
    }, { config, labelSelector: ANCHOR_SELECTOR, onChange: enqueueOwner, onRestart: () => { this.metrics.watchRestarts.inc({ resource: 'pods' }) }, log: this.log })
    await Promise.all([this.statefulSets.start(), this.pods.start()])
    await this.fleets.start()
    this.resyncTimer = setInterval(() => {
      this.reconciler?.forgetApplied()
      for (const fleet of this.fleets?.list() ?? []) enqueue(fleet)
    }, this.config.resync)
    this.resyncTimer.unref()
    if (this.config.defaultFleetFile != null) {
      this.defaultFleet = new DefaultFleet({ kube, file: this.config.defaultFleetFile, log: this.log })
      this.defaultFleet.start()
    }
    this.natsAuth?.serve(address => anchorPodAt(address, {
      pods: () => this.pods?.list() ?? [],
      fleets: () => (this.fleets?.list() ?? []).map(f => ({ namespace: f.metadata?.namespace ?? '', name: f.metadata?.name ?? '', region: (f.spec as { region?: unknown } | undefined)?.region })),
      statefulSet: (namespace, name) => this.statefulSets?.get(name, namespace)
    }))
    this.log.info('leading: watching AnchorFleets')
  }

  private updateGauges (): void {
    this.metrics.queueDepth.set(this.queue?.depth ?? 0)
    const fleets = this.fleets?.list() ?? []
    this.metrics.fleets.set(fleets.length)
    this.metrics.anchors.reset()
    for (const fleet of fleets) {
      for (const anchor of fleet.status?.anchors ?? []) this.metrics.anchors.inc({ phase: anchor.phase })
    }
  }

  private ready (): boolean {
    // A standby is ready (it serves nothing but waits); the leader once its watches have listed.
    return !this.election.isLeader || (this.fleets?.hasSynced === true && this.statefulSets?.hasSynced === true)
  }

  private async serveHttp (): Promise<void> {
    const health = express()
    health.get('/healthz', (_req, res) => { res.json({ status: 'ok' }) })
    health.get('/readyz', (_req, res) => {
      const ready = this.ready()
      res.status(ready ? 200 : 503).json({ ready, leader: this.election.isLeader })
    })
    const metrics = express()
    metrics.get('/metrics', async (_req, res) => {
      this.updateGauges()
      res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics())
    })
    for (const [app, port] of [[health, this.config.healthPort], [metrics, this.config.metricsPort]] as const) {
      const server = createServer(app)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, this.config.healthHost, () => { server.off('error', reject); resolve() })
      })
      // A failed accept (EMFILE, ENOMEM) is emitted on the server; unheard, it ended the operator.
      server.on('error', err => { this.log.error({ err, port }, 'the HTTP server could not accept a connection; it goes on listening') })
      this.servers.push(server)
    }
  }
}
