import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node'
import { findBinaries } from './binaries.js'
import { generateCertificates, generateUserCertificate, writeKubeconfig } from './certs.js'
import { Component, logTail } from './component.js'
import { COMPONENT_NAMES, componentSpecs } from './control-plane-specs.js'
import { DEFAULT_API_SERVER_STOP_GRACE_MS, DEFAULT_CONTROLLERS, DEFAULT_FAKE_NODE_PREFIX, DEFAULT_START_TIMEOUT_MS, KEEP_CLUSTER_ENV } from './constants.js'
import { fakeNode, nodeIsSchedulable } from './fake-nodes.js'
import { freePorts } from './ports.js'
import { sleep, waitFor } from './probe.js'
import { removeHostPathDirs, testStorageClass } from './storage.js'
import type { ControlPlaneBinaries } from './binaries.js'
import type { ClusterCertificates } from './certs.js'
import type { ComponentSpec } from './component.js'
import type { ComponentName, ControlPlanePorts } from './control-plane-specs.js'
import type { FakeNodeOptions } from './fake-nodes.js'
import type { ApiConstructor, ApiType } from '@kubernetes/client-node'

export interface TestControlPlaneOptions {
  /** @default findBinaries(): MEGANET_* variables, the cached env.sh, else provision.sh */
  readonly binaries?: ControlPlaneBinaries
  /** Per component, and for createFakeNodes/createNamespace. @default DEFAULT_START_TIMEOUT_MS */
  readonly startTimeoutMs?: number
  /** Keep the temp dir after stop(). @default process.env.MEGANET_KEEP_CLUSTER === '1' */
  readonly keep?: boolean
  /** --controllers of kube-controller-manager. @default DEFAULT_CONTROLLERS */
  readonly controllers?: readonly string[]
  /** Extra kube-apiserver flags (`--name=value`), e.g. `--feature-gates=...`. @default none */
  readonly apiServerFlags?: readonly string[]
  /** Write every change (create, update, patch, delete) to an audit log: see auditEvents(). @default false */
  readonly audit?: boolean
}

/** A client component that exited on its own while the plane ran, and was started again. */
export interface ComponentRestart {
  readonly component: ComponentName
  /** How the process ended: its exit code or signal. */
  readonly exit: string
  readonly at: Date
  /** The end of its log: why it ended (kube-scheduler: "Scheduler cache is corrupted ..."). */
  readonly lastLogLine: string
}

/**
 * The API's clients, which a kubelet would start again when they exit (static pods): kube-scheduler
 * exits on purpose when it finds its cache inconsistent, which happens here after kube-apiserver
 * restarts. etcd and kube-apiserver are stopped and started by the tests themselves.
 */
const SUPERVISED: readonly ComponentName[] = ['kube-controller-manager', 'kube-scheduler', 'kwok']
/** Wait before starting an exited component again, doubled after each failed start. */
const RESTART_BACKOFF_MS = 1_000
const MAX_RESTART_BACKOFF_MS = 10_000

/** The fields of a kube-apiserver audit event (audit.k8s.io/v1) that tests read. */
export interface AuditEvent {
  readonly stage: string
  readonly verb: string
  readonly user: { readonly username?: string }
  readonly objectRef?: { readonly resource?: string, readonly namespace?: string, readonly name?: string, readonly subresource?: string }
  readonly responseStatus?: { readonly code?: number }
  /** RFC 3339 with microseconds. */
  readonly requestReceivedTimestamp: string
  readonly stageTimestamp: string
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`

interface Resolved {
  readonly dir: string
  readonly keep: boolean
  readonly timeoutMs: number
  readonly ports: ControlPlanePorts
  readonly certs: ClusterCertificates
  readonly kubeconfigPath: string
  readonly kubeconfig: string
  readonly specs: Readonly<Record<ComponentName, ComponentSpec>>
}

/**
 * A real Kubernetes control plane on 127.0.0.1, the envtest way (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler), plus kwok, which turns annotated Node objects into
 * fake nodes and their scheduled pods into Running, Ready pods without running containers.
 * Everything lives in one temp dir: certificates, the admin kubeconfig, etcd's data and one
 * `<component>.log` per process.
 */
export class TestControlPlane {
  /** The temp dir with certs, kubeconfig, etcd data and logs. */
  readonly dir: string
  readonly kubeconfigPath: string
  /** The admin kubeconfig's text (certificates inlined; O=system:masters). */
  readonly kubeconfig: string
  /** `https://127.0.0.1:<port>` */
  readonly server: string
  readonly ports: ControlPlanePorts
  readonly certificates: ClusterCertificates
  /** Client config for @kubernetes/client-node, loaded from the admin kubeconfig. */
  readonly kubeConfig: KubeConfig
  private readonly resolved: Resolved
  private readonly components: Map<ComponentName, Component>
  private nodesCreated = 0
  private stopped = false
  private readonly restartLog: ComponentRestart[] = []
  /** Restarts under way, which stop() waits for so that no process outlives it. */
  private readonly restarting = new Set<Promise<void>>()
  private startedInMs = 0

  private constructor (resolved: Resolved, components: Map<ComponentName, Component>) {
    this.resolved = resolved
    this.components = components
    this.dir = resolved.dir
    this.kubeconfigPath = resolved.kubeconfigPath
    this.kubeconfig = resolved.kubeconfig
    this.server = `https://127.0.0.1:${resolved.ports.apiServer}`
    this.ports = resolved.ports
    this.certificates = resolved.certs
    this.kubeConfig = new KubeConfig()
    this.kubeConfig.loadFromString(resolved.kubeconfig)
  }

  /** Client components that exited on their own and were started again, oldest first. */
  get restarts (): readonly ComponentRestart[] {
    return this.restartLog
  }

  /** How long start() took, in milliseconds. */
  get startupMs (): number {
    return this.startedInMs
  }

  /**
   * Starts etcd, then kube-apiserver, then the controller-manager, scheduler and kwok together,
   * each once its health endpoint answers 200, and creates the default StorageClass. On failure,
   * stops what it started and throws a ComponentStartError quoting the end of that process's log.
   */
  static async start (options: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
    const began = performance.now()
    const binaries = options.binaries ?? await findBinaries()
    const keep = options.keep ?? process.env[KEEP_CLUSTER_ENV] === '1'
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    const dir = await mkdtemp(join(tmpdir(), 'meganet-cluster-'))
    const components = new Map<ComponentName, Component>()
    try {
      const certs = await generateCertificates(dir)
      const [etcdClient, etcdPeer, apiServer, controllerManager, scheduler, kwok] = await freePorts(6) as [number, number, number, number, number, number]
      const ports = { etcdClient, etcdPeer, apiServer, controllerManager, scheduler, kwok }
      const kubeconfigPath = join(dir, 'admin.kubeconfig')
      const kubeconfig = await writeKubeconfig(kubeconfigPath, `https://127.0.0.1:${apiServer}`, certs)
      const auditFlags: string[] = []
      if (options.audit === true) {
        await writeFile(join(dir, 'audit-policy.yaml'), AUDIT_POLICY)
        auditFlags.push(`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${join(dir, 'audit.log')}`,
          '--audit-log-format=json', '--audit-log-mode=blocking')
      }
      const specs = await componentSpecs({
        dir, binaries, certs, ports, kubeconfigPath,
        controllers: options.controllers ?? DEFAULT_CONTROLLERS,
        apiServerFlags: [...auditFlags, ...options.apiServerFlags ?? []]
      })
      const startOne = async (name: ComponentName): Promise<void> => {
        components.set(name, await Component.start(specs[name], timeoutMs))
      }
      await startOne('etcd')
      await startOne('kube-apiserver')
      const rest = await Promise.allSettled((['kube-controller-manager', 'kube-scheduler', 'kwok'] as const).map(startOne))
      const failed = rest.find(r => r.status === 'rejected')
      if (failed != null) throw failed.reason
      const resolved = { dir, keep, timeoutMs, ports, certs, kubeconfigPath, kubeconfig, specs }
      const plane = new TestControlPlane(resolved, components)
      for (const name of SUPERVISED) plane.supervise(name, components.get(name) as Component)
      await plane.client(StorageV1Api).createStorageClass({ body: testStorageClass() })
      plane.startedInMs = Math.round(performance.now() - began)
      return plane
    } catch (err) {
      await stopAll(components)
      if (!keep) await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  /** An API client for this cluster, e.g. `plane.client(AppsV1Api)`. */
  client<T extends ApiType> (api: ApiConstructor<T>): T {
    return this.kubeConfig.makeApiClient(api)
  }

  /** The running process of a component (throws when it is stopped). */
  component (name: ComponentName): Component {
    const component = this.components.get(name)
    if (component == null) throw new Error(`${name} is not running`)
    return component
  }

  logPath (name: ComponentName): string {
    return this.resolved.specs[name].logPath
  }

  /**
   * A kubeconfig for another user in system:masters (every RBAC check passes), so that the audit
   * log tells this client's requests apart from the admin's and from other users'. Returns its path.
   */
  async userKubeconfig (name: string): Promise<string> {
    const path = join(this.dir, `${name}.kubeconfig`)
    await writeKubeconfig(path, this.server, this.certificates, await generateUserCertificate(this.dir, this.certificates, name))
    return path
  }

  /** Every completed change recorded so far (start with `audit: true`). */
  async auditEvents (): Promise<AuditEvent[]> {
    const text = await readFile(join(this.dir, 'audit.log'), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new Error('no audit log: start the control plane with { audit: true }', { cause: err })
      throw err
    })
    return text.split('\n').filter(line => line.trim() !== '').map(line => JSON.parse(line) as AuditEvent)
      .filter(e => e.stage === 'ResponseComplete')
  }

  /** Resident memory of each running process, in bytes. */
  async memory (): Promise<Partial<Record<ComponentName, number>>> {
    const entries = await Promise.all([...this.components].map(async ([name, c]) => [name, await c.rssBytes()] as const))
    return Object.fromEntries(entries.filter(([, rss]) => rss != null))
  }

  /**
   * Stops kube-apiserver only: SIGTERM, SIGKILL after `graceMs` (0: SIGKILL at once, a crash).
   * etcd, the controllers, the scheduler and kwok keep running and reconnect once it is back.
   */
  async stopApiServer (graceMs = DEFAULT_API_SERVER_STOP_GRACE_MS): Promise<void> {
    await this.components.get('kube-apiserver')?.stop(graceMs)
    this.components.delete('kube-apiserver')
  }

  /** Starts kube-apiserver again on the same port and etcd, and waits for /readyz. */
  async startApiServer (): Promise<void> {
    if (this.components.has('kube-apiserver')) return
    this.components.set('kube-apiserver', await Component.start(this.resolved.specs['kube-apiserver'], this.resolved.timeoutMs))
  }

  /**
   * Stops kube-apiserver (see stopApiServer for `graceMs`), waits `downtimeMs` (default 0), then
   * starts it on the same port and etcd and waits for /readyz.
   */
  async restartApiServer (options: { readonly downtimeMs?: number, readonly graceMs?: number } = {}): Promise<void> {
    await this.stopApiServer(options.graceMs)
    if (options.downtimeMs != null && options.downtimeMs > 0) await sleep(options.downtimeMs)
    await this.startApiServer()
  }

  /**
   * Creates `count` kwok nodes (`kwok-node-0`, `kwok-node-1`, ... numbered across calls) and
   * waits until each is Ready and schedulable: kwok reported it Ready and the node-lifecycle
   * controller lifted the not-ready taint. Untainted then, unless `options.taint`.
   */
  async createFakeNodes (count: number, options: FakeNodeOptions & { readonly namePrefix?: string } = {}): Promise<string[]> {
    const core = this.client(CoreV1Api)
    const prefix = options.namePrefix ?? DEFAULT_FAKE_NODE_PREFIX
    const names = Array.from({ length: count }, () => `${prefix}${this.nodesCreated++}`)
    await Promise.all(names.map(async name => await core.createNode({ body: fakeNode(name, options) })))
    await waitFor(`fake nodes ${names.join(', ')} to be Ready and schedulable`, async () => {
      const ready = await Promise.all(names.map(async name => nodeIsSchedulable(await core.readNode({ name }))))
      return ready.every(Boolean) ? true : undefined
    }, this.resolved.timeoutMs)
    return names
  }

  /**
   * Creates a namespace and waits for its `default` ServiceAccount (the ServiceAccount admission
   * plugin rejects pods until the serviceaccount controller has made it).
   */
  async createNamespace (name: string, labels: Readonly<Record<string, string>> = {}): Promise<string> {
    const core = this.client(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name, labels: { ...labels } } } })
    await waitFor(`ServiceAccount ${name}/default`, async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name })
      return true
    }, this.resolved.timeoutMs)
    return name
  }

  /**
   * Starts `component` again whenever it exits without stop(), as the kubelet restarts a crashed
   * static pod, and records each such exit in {@link restarts}.
   */
  private supervise (name: ComponentName, component: Component): void {
    const restart = component.exited.then(async () => {
      if (this.stopped || component.stopping || this.components.get(name) !== component) return
      const lastLogLine = await logTail(component.spec.logPath, 1)
      const exit = String(component.child.exitCode ?? component.child.signalCode)
      this.restartLog.push({ component: name, exit, at: new Date(), lastLogLine })
      console.warn(`${name} exited (${exit}) without stop(); starting it again as a kubelet would. Its last log line: ${lastLogLine}`)
      for (let backoff = RESTART_BACKOFF_MS; !this.stopped; backoff = Math.min(2 * backoff, MAX_RESTART_BACKOFF_MS)) {
        await sleep(backoff)
        if (this.stopped) return
        try {
          const next = await Component.start(this.resolved.specs[name], this.resolved.timeoutMs)
          if (this.stopped) {
            await next.stop()
            return
          }
          this.components.set(name, next)
          this.supervise(name, next)
          return
        } catch (err) {
          console.warn(`${name} did not start again: ${(err as Error).message}`)
        }
      }
    })
    this.restarting.add(restart)
    void restart.finally(() => this.restarting.delete(restart))
  }

  /** Stops every process (kwok first, etcd last) and removes the temp dir unless kept. Idempotent. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.components.has('kube-apiserver')) {
      const volumes = await this.client(CoreV1Api).listPersistentVolume().catch(() => undefined)
      await removeHostPathDirs(volumes?.items ?? [])
    }
    await stopAll(this.components)
    await Promise.all(this.restarting)
    if (this.resolved.keep) console.log(`${KEEP_CLUSTER_ENV}=1: kept ${this.dir} (kubeconfig: ${this.kubeconfigPath})`)
    else await rm(this.dir, { recursive: true, force: true })
  }
}

/** Reverse start order: the clients first (together), then kube-apiserver, then etcd. */
async function stopAll (components: Map<ComponentName, Component>): Promise<void> {
  const stop = async (names: readonly ComponentName[]): Promise<void> => {
    await Promise.all(names.map(async name => {
      await components.get(name)?.stop()
      components.delete(name)
    }))
  }
  await stop(COMPONENT_NAMES.filter(n => n !== 'etcd' && n !== 'kube-apiserver'))
  await stop(['kube-apiserver'])
  await stop(['etcd'])
}
