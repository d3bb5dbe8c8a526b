import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { cpuSeconds, residentBytes } from '../../bench/src/process-usage.js'
import { quantile } from '../../bench/src/stats.js'
import { TestControlPlane } from '../cluster/control-plane.js'
import { COMPONENT_NAMES } from '../cluster/control-plane-specs.js'
import { eventually } from '../helpers/anchor-process.js'
import { fleets, installCrd } from '../operator/kube-fixtures.js'
import { OperatorProcess } from '../operator/operator-process.js'
import type { BenchContext, BenchResult } from '../../bench/src/bench-types.js'
import type { ComponentName } from '../cluster/control-plane-specs.js'
import type { FleetObject } from '../operator/kube-fixtures.js'
import type { V1Pod } from '@kubernetes/client-node'

export interface OperatorBenchSizes {
  readonly fleets: number
  readonly anchorsPerFleet: number
  /** The one fleet that is scaled, from and to. */
  readonly scaleFrom: number
  readonly scaleTo: number
  /** The operator's CPU with no fleets at all, the comparator of the steady state. */
  readonly emptyMs: number
  /** Wait after everything is Ready, for trailing watch events, before the steady-state window. */
  readonly settleMs: number
  /** The steady-state window (operator RSS, CPU, requests, reconciles). */
  readonly steadyMs: number
  /** How often the bench lists the fleets while waiting for Ready. */
  readonly pollMs: number
  /** Per phase. */
  readonly timeoutMs: number
}

/** The issue's sizes: 100 fleets × 10 anchors, one fleet scaled 3 → 100, a minute of steady state. */
export const FULL_SIZES: OperatorBenchSizes = {
  fleets: 100, anchorsPerFleet: 10, scaleFrom: 3, scaleTo: 100, emptyMs: 30_000, settleMs: 15_000, steadyMs: 60_000, pollMs: 500, timeoutMs: 15 * 60_000
}
export const SMOKE_SIZES: OperatorBenchSizes = {
  fleets: 2, anchorsPerFleet: 2, scaleFrom: 1, scaleTo: 3, emptyMs: 2_000, settleMs: 1_000, steadyMs: 3_000, pollMs: 200, timeoutMs: 60_000
}

/**
 * The operator as deployed (its flag defaults), not the short lease timings and debug logging of
 * the operator tests: leader-election renewals every 2 s and a 5-minute resync are part of what
 * it costs at steady state.
 */
export const OPERATOR_BENCH_FLAGS: Readonly<Record<string, string>> = {
  'lease-duration': '15s', 'renew-interval': '2s', resync: '5m', 'log-level': 'info'
}

/**
 * Metrics that can honestly be 0 (the operator idle at steady state, a process that got no CPU
 * tick during a short phase): the smoke test checks these for ≥ 0, all others for > 0.
 */
export const METRICS_THAT_MAY_BE_ZERO: ReadonlySet<string> = new Set([
  'steadyReconciles', 'steadyReconcileRequests', 'steadyCpuSecondsPerMinute', 'emptyCpuSecondsPerMinute',
  'createCoresBusy.operator', ...COMPONENT_NAMES.map(name => `createCoresBusy.${name}`),
  // From the API server's timestamps, which have whole seconds: 0 when within the same second.
  'createStatefulSetsCreatedSeconds', 'createLastPodCreatedSeconds', 'createLastVolumeCreatedSeconds', 'createLastPodScheduledSeconds', 'createLastPodReadySeconds',
  'createPodReadyAfterCreatedP50Seconds', 'createPodReadyAfterCreatedMaxSeconds',
  'scaleStatefulSetPatchedSeconds', 'scaleLastPodCreatedSeconds', 'scaleLastVolumeCreatedSeconds', 'scaleLastPodScheduledSeconds', 'scaleLastPodReadySeconds'
])

const NAMESPACE = 'bench'
const SCALED_FLEET = 'scaled'
/** Pods one fake node takes: the issue's 1,100 pods fit on a handful of nodes. */
const PODS_PER_NODE = 250
/**
 * The test control plane's default Service range is a /24 (254 ClusterIPs); every anchor has its
 * own ClusterIP Service, so 1,100 anchors need a larger one.
 */
const SERVICE_RANGE_FLAG = '--service-cluster-ip-range=10.0.0.0/16'
/** The operator's leader-election verbs (Lease get, then update, every renew interval). */
const LEASE_VERBS = new Set(['get', 'update'])

/** What the operator's /metrics and /proc say at one moment. */
interface Snapshot {
  readonly atMs: number
  readonly requests: ReadonlyMap<string, number>
  readonly reconciles: number
  readonly reconcileErrors: number
  readonly reconcileSeconds: number
  readonly heapUsedBytes: number
  readonly cpu: Readonly<Record<string, number>>
}

/** Between two snapshots. */
interface Usage {
  readonly seconds: number
  readonly requests: number
  /** Requests other than leader election's. */
  readonly reconcileRequests: number
  readonly leaseRequests: number
  readonly reconciles: number
  readonly reconcileErrors: number
  readonly reconcileSecondsMean: number
  /** CPU seconds of each process (the operator and the control plane's components). */
  readonly cpu: Readonly<Record<string, number>>
}

async function scrape (operator: OperatorProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text()
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

async function snapshot (operator: OperatorProcess, plane: TestControlPlane): Promise<Snapshot> {
  const samples = await scrape(operator)
  const requests = new Map<string, number>()
  let reconciles = 0
  let reconcileErrors = 0
  for (const [sample, value] of samples) {
    const verb = /^meganet_operator_kube_requests_total\{verb="([^"]+)"/.exec(sample)?.[1]
    if (verb != null) requests.set(verb, (requests.get(verb) ?? 0) + value)
    const outcome = /^meganet_operator_reconciles_total\{outcome="([^"]+)"\}$/.exec(sample)?.[1]
    if (outcome != null) reconciles += value
    if (outcome === 'error') reconcileErrors += value
  }
  const cpu: Record<string, number> = { operator: await cpuSeconds(operator.child.pid ?? 0) }
  for (const name of COMPONENT_NAMES) cpu[name] = await cpuSeconds(plane.component(name).pid ?? 0)
  return {
    atMs: performance.now(), requests, reconciles, reconcileErrors,
    reconcileSeconds: samples.get('meganet_operator_reconcile_duration_seconds_sum') ?? 0,
    heapUsedBytes: samples.get('nodejs_heap_size_used_bytes') ?? 0, cpu
  }
}

function usage (before: Snapshot, after: Snapshot): Usage {
  let requests = 0
  let leaseRequests = 0
  for (const [verb, count] of after.requests) {
    const delta = count - (before.requests.get(verb) ?? 0)
    requests += delta
    if (LEASE_VERBS.has(verb)) leaseRequests += delta
  }
  const reconciles = after.reconciles - before.reconciles
  return {
    seconds: (after.atMs - before.atMs) / 1000,
    requests, leaseRequests, reconcileRequests: requests - leaseRequests, reconciles,
    reconcileErrors: after.reconcileErrors - before.reconcileErrors,
    reconcileSecondsMean: reconciles > 0 ? (after.reconcileSeconds - before.reconcileSeconds) / reconciles : 0,
    cpu: Object.fromEntries(Object.entries(after.cpu).map(([name, s]) => [name, s - (before.cpu[name] ?? 0)]))
  }
}

function isReady (fleet: FleetObject): boolean {
  const ready = fleet.status?.conditions?.find(c => c.type === 'Ready')
  return ready?.status === 'True' && fleet.status?.observedGeneration === fleet.metadata.generation &&
    fleet.status?.readyReplicas === fleet.spec.replicas
}

/**
 * Lists the fleets every `pollMs` until each of `names` is Ready for its current generation;
 * resolves to the milliseconds (since `startMs`) at which each was first seen Ready.
 */
async function waitReady (
  plane: TestControlPlane, names: readonly string[], startMs: number, sizes: OperatorBenchSizes, progress: (m: string) => void, errors: () => Promise<number>
): Promise<Map<string, number>> {
  const custom = plane.client(CustomObjectsApi)
  const readyAt = new Map<string, number>()
  const wanted = new Set(names)
  const deadline = startMs + sizes.timeoutMs
  let lastReport = startMs
  while (readyAt.size < wanted.size) {
    const list = await custom.listNamespacedCustomObject({
      group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, namespace: NAMESPACE, plural: ANCHOR_FLEET.plural
    }) as { items: FleetObject[] }
    const now = performance.now()
    for (const fleet of list.items) {
      if (wanted.has(fleet.metadata.name) && !readyAt.has(fleet.metadata.name) && isReady(fleet)) readyAt.set(fleet.metadata.name, now - startMs)
    }
    if (readyAt.size === wanted.size) break
    if (now > deadline) throw new Error(`only ${readyAt.size} of ${wanted.size} fleets Ready after ${sizes.timeoutMs} ms`)
    if (now - lastReport > 15_000) {
      lastReport = now
      const anchors = list.items.filter(f => wanted.has(f.metadata.name)).reduce((sum, f) => sum + (f.status?.readyReplicas ?? 0), 0)
      progress(`${((now - startMs) / 1000).toFixed(0)} s: ${readyAt.size} of ${wanted.size} fleets Ready, ${anchors} anchors ready, ${await errors()} failed reconciles so far`)
    }
    await new Promise(resolve => setTimeout(resolve, sizes.pollMs))
  }
  return readyAt
}

/**
 * When the objects behind `instances` appeared and went Ready, in seconds after `startWallMs`,
 * from the API server's timestamps (whole seconds): where the time between applying and Ready went.
 */
async function timeline (plane: TestControlPlane, instances: readonly string[], startWallMs: number, sinceWallMs = startWallMs): Promise<{
  statefulSetsSeconds: number, lastPodCreatedSeconds: number, lastVolumeCreatedSeconds: number, lastPodScheduledSeconds: number, lastPodReadySeconds: number,
  podReadyP50Seconds: number, podReadyMaxSeconds: number
}> {
  const wanted = new Set(instances)
  const seconds = (at: Date | undefined): number => at == null ? 0 : Math.max(0, (at.getTime() - startWallMs) / 1000)
  const sets = (await plane.client(AppsV1Api).listNamespacedStatefulSet({ namespace: NAMESPACE })).items
    .filter(s => wanted.has(s.metadata?.labels?.['app.kubernetes.io/instance'] ?? ''))
  const pods = (await plane.client(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE })).items
    .filter(p => wanted.has(p.metadata?.labels?.['app.kubernetes.io/instance'] ?? '') && (p.metadata?.creationTimestamp?.getTime() ?? 0) >= sinceWallMs - 1_000)
  // The controller-manager's hostPath provisioner makes a PV per claim (`data-<fleet>-anchor-<n>`).
  const volumes = (await plane.client(CoreV1Api).listPersistentVolume()).items.filter(v => v.spec?.claimRef?.namespace === NAMESPACE &&
    wanted.has(/^data-(.+)-anchor-\d+$/.exec(v.spec.claimRef.name ?? '')?.[1] ?? '') && (v.metadata?.creationTimestamp?.getTime() ?? 0) >= sinceWallMs - 1_000)
  const condition = (pod: V1Pod, type: string): Date | undefined => pod.status?.conditions?.find(c => c.type === type && c.status === 'True')?.lastTransitionTime
  const readyAt = (pod: V1Pod): Date | undefined => condition(pod, 'Ready')
  const podLatencies = pods.map(p => ((readyAt(p)?.getTime() ?? Date.now()) - (p.metadata?.creationTimestamp?.getTime() ?? 0)) / 1000)
  return {
    statefulSetsSeconds: Math.max(0, ...sets.map(s => seconds(s.metadata?.creationTimestamp))),
    lastPodCreatedSeconds: Math.max(0, ...pods.map(p => seconds(p.metadata?.creationTimestamp))),
    lastVolumeCreatedSeconds: Math.max(0, ...volumes.map(v => seconds(v.metadata?.creationTimestamp))),
    // Scheduled once its PVC is bound (the controller-manager provisions and binds the volumes).
    lastPodScheduledSeconds: Math.max(0, ...pods.map(p => seconds(condition(p, 'PodScheduled')))),
    lastPodReadySeconds: Math.max(0, ...pods.map(p => seconds(readyAt(p)))),
    podReadyP50Seconds: quantile(podLatencies, 0.5),
    podReadyMaxSeconds: Math.max(0, ...podLatencies)
  }
}

const round = (value: number, digits = 1): string => value.toFixed(digits)

/**
 * The longest stage between applying and Ready, from the timeline's last-object times: who
 * limited the result (the stages overlap across fleets; these are the gaps between their ends).
 */
function longestStage (t: Awaited<ReturnType<typeof timeline>>, readySeconds: number, appliedSeconds = t.statefulSetsSeconds): string {
  const stages: Array<[string, number]> = [
    ['the operator applying the StatefulSets', appliedSeconds],
    ['the StatefulSet controller creating pods and claims', t.lastPodCreatedSeconds - appliedSeconds],
    ['the controller-manager provisioning volumes', t.lastVolumeCreatedSeconds - t.lastPodCreatedSeconds],
    ['binding volumes and scheduling', t.lastPodScheduledSeconds - Math.max(t.lastPodCreatedSeconds, t.lastVolumeCreatedSeconds)],
    ['kwok making pods Ready', t.lastPodReadySeconds - t.lastPodScheduledSeconds],
    ['the operator reporting Ready', readySeconds - t.lastPodReadySeconds]
  ]
  const [name, seconds] = stages.reduce((a, b) => b[1] > a[1] ? b : a)
  return `longest stage: ${name}, ${round(seconds, 0)} s`
}

/**
 * The operator on the test control plane (real kube-apiserver, etcd, controller-manager and
 * scheduler; kwok makes the pods Running and Ready): the time from applying `fleets` AnchorFleets
 * of `anchorsPerFleet` anchors until all say Ready, with the API requests and reconciles that
 * took, where that time went (operator, StatefulSet controller, kwok), the operator's CPU and RSS
 * at steady state, and the time to scale one fleet up.
 */
export async function operatorBench (context: BenchContext, sizes: OperatorBenchSizes = context.smoke ? SMOKE_SIZES : FULL_SIZES): Promise<BenchResult> {
  const { progress } = context
  progress('starting the test control plane')
  const plane = await TestControlPlane.start({ apiServerFlags: [SERVICE_RANGE_FLAG] })
  let operator: OperatorProcess | undefined
  try {
    const totalPods = sizes.fleets * sizes.anchorsPerFleet + sizes.scaleTo
    await plane.createFakeNodes(Math.ceil(totalPods / PODS_PER_NODE) + 1, { allocatable: { cpu: '1000', memory: '4Ti', pods: String(PODS_PER_NODE) } })
    await installCrd(plane)
    await plane.createNamespace(NAMESPACE)
    operator = await OperatorProcess.start(plane.kubeconfigPath, 'op-bench', { ...OPERATOR_BENCH_FLAGS })
    const op = operator
    await eventually(async () => await op.isLeader() ? true : undefined, 30_000, 'the operator leads')
    const api = fleets(plane)
    const pid = op.child.pid ?? 0
    const rssEmptyBytes = await residentBytes(pid)

    // 0. No fleets yet: what leading costs by itself (lease renewals, idle watches), once started.
    await new Promise(resolve => setTimeout(resolve, sizes.settleMs))
    progress(`the operator with no fleets for ${sizes.emptyMs / 1000} s`)
    const emptyBefore = await snapshot(op, plane)
    await new Promise(resolve => setTimeout(resolve, sizes.emptyMs))
    const empty = usage(emptyBefore, await snapshot(op, plane))
    const emptyCpuPerMinute = (empty.cpu.operator ?? 0) * 60 / empty.seconds
    const storage = { size: '1Gi' }
    const errors = async (): Promise<number> => (await snapshot(op, plane)).reconcileErrors

    // 1. Apply every fleet at once; wait until each says Ready.
    const names = Array.from({ length: sizes.fleets }, (_, i) => `fleet-${String(i).padStart(3, '0')}`)
    progress(`applying ${sizes.fleets} fleets × ${sizes.anchorsPerFleet} anchors`)
    const createBefore = await snapshot(op, plane)
    const createWall = Date.now()
    const createStart = performance.now()
    await Promise.all(names.map(async name => await api.create(NAMESPACE, name, { replicas: sizes.anchorsPerFleet, storage })))
    const readyAt = await waitReady(plane, names, createStart, sizes, progress, errors)
    const createSeconds = (performance.now() - createStart) / 1000
    const createUsage = usage(createBefore, await snapshot(op, plane))
    const rssAfterCreateBytes = await residentBytes(pid)
    const create = await timeline(plane, names, createWall)
    const perFleetReady = [...readyAt.values()].map(ms => ms / 1000)
    progress(`all Ready in ${round(createSeconds)} s: ${createUsage.reconciles} reconciles, ${createUsage.reconcileRequests} requests`)

    // The fleet to scale, Ready at its small size before the steady-state window.
    await api.create(NAMESPACE, SCALED_FLEET, { replicas: sizes.scaleFrom, storage })
    await waitReady(plane, [SCALED_FLEET], performance.now(), sizes, progress, errors)

    // 2. Steady state: nothing changes; the operator should do nothing but renew its lease.
    await new Promise(resolve => setTimeout(resolve, sizes.settleMs))
    progress(`steady state for ${sizes.steadyMs / 1000} s`)
    const steadyBefore = await snapshot(op, plane)
    const rssSamples: number[] = []
    const steadyEnd = performance.now() + sizes.steadyMs
    while (performance.now() < steadyEnd) {
      rssSamples.push(await residentBytes(pid))
      await new Promise(resolve => setTimeout(resolve, Math.min(1_000, Math.max(0, steadyEnd - performance.now()))))
    }
    const steadyAfter = await snapshot(op, plane)
    const steady = usage(steadyBefore, steadyAfter)
    const perMinute = 60 / steady.seconds

    // 3. Scale one fleet up through the scale subresource.
    progress(`scaling ${SCALED_FLEET} from ${sizes.scaleFrom} to ${sizes.scaleTo}`)
    const scaleBefore = await snapshot(op, plane)
    const scaleWall = Date.now()
    const scaleStart = performance.now()
    await api.scale(NAMESPACE, SCALED_FLEET, sizes.scaleTo)
    await waitReady(plane, [SCALED_FLEET], scaleStart, sizes, progress, errors)
    const scaleSeconds = (performance.now() - scaleStart) / 1000
    const scaleUsage = usage(scaleBefore, await snapshot(op, plane))
    const scale = await timeline(plane, [SCALED_FLEET], scaleWall, scaleWall)
    const scaledSet = await plane.client(AppsV1Api).readNamespacedStatefulSet({ name: `${SCALED_FLEET}-anchor`, namespace: NAMESPACE })
    const scalePatchedSeconds = Math.max(0, ((scaledSet.metadata?.managedFields ?? [])
      .filter(f => f.manager === 'meganet-operator').map(f => f.time?.getTime() ?? 0).reduce((a, b) => Math.max(a, b), 0) - scaleWall) / 1000)

    const anchors = sizes.fleets * sizes.anchorsPerFleet
    const requestsPerReconcile = createUsage.reconcileRequests / Math.max(1, createUsage.reconciles)
    const steadyCpuPerMinute = (steady.cpu.operator ?? 0) * perMinute
    const steadyRssMax = Math.max(...rssSamples)
    const leasePerMinute = steady.leaseRequests * perMinute
    const createCores = (name: string): number => (createUsage.cpu[name] ?? 0) / createSeconds
    const metrics: Record<string, number> = {
      fleets: sizes.fleets,
      anchorsPerFleet: sizes.anchorsPerFleet,
      createAllReadySeconds: createSeconds,
      createFleetReadyP50Seconds: quantile(perFleetReady, 0.5),
      createStatefulSetsCreatedSeconds: create.statefulSetsSeconds,
      createLastPodCreatedSeconds: create.lastPodCreatedSeconds,
      createLastVolumeCreatedSeconds: create.lastVolumeCreatedSeconds,
      createLastPodScheduledSeconds: create.lastPodScheduledSeconds,
      createLastPodReadySeconds: create.lastPodReadySeconds,
      createPodReadyAfterCreatedP50Seconds: create.podReadyP50Seconds,
      createPodReadyAfterCreatedMaxSeconds: create.podReadyMaxSeconds,
      createReconciles: createUsage.reconciles,
      createReconcilesPerFleet: createUsage.reconciles / sizes.fleets,
      createReconcileRequests: createUsage.reconcileRequests,
      createRequestsPerReconcile: requestsPerReconcile,
      createRequestsPerAnchor: createUsage.reconcileRequests / anchors,
      createReconcileMeanMs: createUsage.reconcileSecondsMean * 1000,
      createReconcileErrors: createUsage.reconcileErrors,
      'createCoresBusy.operator': createCores('operator'),
      ...Object.fromEntries(COMPONENT_NAMES.map((name: ComponentName) => [`createCoresBusy.${name}`, createCores(name)])),
      emptyCpuSecondsPerMinute: emptyCpuPerMinute,
      operatorRssEmptyBytes: rssEmptyBytes,
      operatorRssAfterCreateBytes: rssAfterCreateBytes,
      steadySeconds: steady.seconds,
      steadyRssMaxBytes: steadyRssMax,
      steadyHeapUsedBytes: steadyAfter.heapUsedBytes,
      steadyCpuSecondsPerMinute: steadyCpuPerMinute,
      steadyReconciles: steady.reconciles,
      steadyReconcileRequests: steady.reconcileRequests,
      steadyLeaseRequestsPerMinute: leasePerMinute,
      scaleFrom: sizes.scaleFrom,
      scaleTo: sizes.scaleTo,
      scaleReadySeconds: scaleSeconds,
      scaleStatefulSetPatchedSeconds: scalePatchedSeconds,
      scaleLastPodCreatedSeconds: scale.lastPodCreatedSeconds,
      scaleLastVolumeCreatedSeconds: scale.lastVolumeCreatedSeconds,
      scaleLastPodScheduledSeconds: scale.lastPodScheduledSeconds,
      scaleLastPodReadySeconds: scale.lastPodReadySeconds,
      scaleReconciles: scaleUsage.reconciles,
      scaleReconcileRequests: scaleUsage.reconcileRequests,
      scaleRequestsPerReconcile: scaleUsage.reconcileRequests / Math.max(1, scaleUsage.reconciles)
    }
    // Errors are worth a row only when there were some.
    if (createUsage.reconcileErrors === 0) delete metrics.createReconcileErrors
    const mb = (bytes: number): string => round(bytes / 1e6, 0)
    const summary = `${sizes.fleets} fleets × ${sizes.anchorsPerFleet} anchors all Ready ${round(createSeconds)} s after applying ` +
      `(StatefulSets applied by ${round(create.statefulSetsSeconds, 0)} s, last pod created ${round(create.lastPodCreatedSeconds, 0)} s, last volume ${round(create.lastVolumeCreatedSeconds, 0)} s, scheduled ${round(create.lastPodScheduledSeconds, 0)} s, Ready ${round(create.lastPodReadySeconds, 0)} s; ${longestStage(create, createSeconds)}); ` +
      `${createUsage.reconciles} reconciles (${round(createUsage.reconciles / sizes.fleets)} per fleet), ${round(requestsPerReconcile, 2)} API requests per reconcile; ` +
      `steady state over ${round(steady.seconds, 0)} s: ${round(steadyCpuPerMinute, 2)} CPU s/min (${round(emptyCpuPerMinute, 2)} with no fleets), RSS ${mb(steadyRssMax)} MB (${mb(rssEmptyBytes)} MB with no fleets; heap ${mb(steadyAfter.heapUsedBytes)} MB), ` +
      `${steady.reconciles} reconciles, ${steady.reconcileRequests} requests besides ${round(leasePerMinute, 0)}/min for the lease; ` +
      `one fleet scaled ${sizes.scaleFrom} → ${sizes.scaleTo} Ready in ${round(scaleSeconds)} s (StatefulSet patched ${round(scalePatchedSeconds, 0)} s, last pod created ${round(scale.lastPodCreatedSeconds, 0)} s, last volume ${round(scale.lastVolumeCreatedSeconds, 0)} s, ` +
      `scheduled ${round(scale.lastPodScheduledSeconds, 0)} s, Ready ${round(scale.lastPodReadySeconds, 0)} s; ${longestStage(scale, scaleSeconds, scalePatchedSeconds)})`
    return { name: 'operator', summary, metrics }
  } catch (err) {
    const warnings = operator?.logs.filter(line => !line.includes('"level":30')).slice(-10) ?? []
    throw new Error(`${(err as Error).message}${warnings.length > 0 ? `\nlast operator warnings:\n${warnings.join('\n')}` : ''}`, { cause: err })
  } finally {
    await operator?.stop('SIGKILL')
    await plane.stop()
  }
}
