import { existsSync } from 'node:fs'
import { AppsV1Api, CoreV1Api, VersionApi } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_STORAGE_CLASS } from './constants.js'
import { TestControlPlane } from './control-plane.js'
import { isComponentStartError } from './errors.js'
import { waitFor } from './probe.js'
import type { ComponentStartError } from './errors.js'
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node'

// Starting the plane takes a few seconds warm; the binaries are already built (the project's global
// setup, test/setup/cluster-tools.ts, ran provision.sh), since a cold build takes ~15 minutes.
const START_TIMEOUT_MS = 180_000
const WAIT_MS = 60_000
const NAMESPACE = 'control-plane-test'
const NAME = 'web'

function statefulSet (replicas: number): V1StatefulSet {
  const labels = { app: NAME }
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: NAME, namespace: NAMESPACE },
    spec: {
      replicas,
      serviceName: NAME,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{
            name: 'app',
            image: 'registry.invalid/meganet/fake:test',
            resources: { requests: { cpu: '100m', memory: '64Mi' } },
            volumeMounts: [{ name: 'data', mountPath: '/data' }]
          }]
        }
      },
      volumeClaimTemplates: [{
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }
      }]
    }
  }
}

const isReady = (pod: V1Pod): boolean =>
  pod.status?.phase === 'Running' && (pod.status.conditions?.some(c => c.type === 'Ready' && c.status === 'True') ?? false)

const mib = (bytes: number | undefined): string => bytes == null ? '-' : `${Math.round(bytes / 2 ** 20)} MiB`

describe('TestControlPlane', () => {
  let plane: TestControlPlane
  let core: CoreV1Api
  let apps: AppsV1Api
  let nodes: string[] = []

  const pods = async (): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${NAME}` })).items

  /** Resolves once exactly `count` pods exist and all are Running and Ready on fake nodes. */
  const readyPods = async (count: number): Promise<V1Pod[]> => await waitFor(`${count} Ready pods`, async () => {
    const list = await pods()
    const done = list.length === count && list.every(p => isReady(p) && nodes.includes(p.spec?.nodeName ?? ''))
    return done ? list : undefined
  }, WAIT_MS)

  beforeAll(async () => {
    plane = await TestControlPlane.start()
    core = plane.client(CoreV1Api)
    apps = plane.client(AppsV1Api)
    console.log(`control plane started in ${plane.startupMs} ms (${plane.dir})`)
  }, START_TIMEOUT_MS)

  afterAll(async () => {
    await plane?.stop()
  }, 60_000)

  it('serves the API with the admin kubeconfig', async () => {
    expect(plane.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(plane.kubeconfig).toContain(plane.server)
    const version = await plane.client(VersionApi).getCode()
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/)
    const classes = await plane.client(CoreV1Api).listNamespace()
    expect(classes.items.map(n => n.metadata?.name)).toContain('default')
  })

  it('creates Ready fake nodes with the given allocatable', async () => {
    nodes = await plane.createFakeNodes(3)
    expect(nodes).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2'])
    const node = await core.readNode({ name: 'kwok-node-0' })
    expect(node.status?.allocatable).toMatchObject({ cpu: '32', memory: '256Gi', pods: '110' })
    expect(node.spec?.taints ?? []).toEqual([])
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' })
  })

  it('runs a StatefulSet with a volumeClaimTemplate to 3 Running, Ready pods', async () => {
    await plane.createNamespace(NAMESPACE)
    const began = performance.now()
    await apps.createNamespacedStatefulSet({ namespace: NAMESPACE, body: statefulSet(3) })
    const ready = await readyPods(3)
    console.log(`3 StatefulSet pods Ready in ${Math.round(performance.now() - began)} ms`)
    expect(ready.map(p => p.metadata?.name).sort()).toEqual(['web-0', 'web-1', 'web-2'])
    expect(ready.every(p => p.status?.podIP?.startsWith('10.244.') === true)).toBe(true)
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE })).items
    expect(claims.map(c => [c.metadata?.name, c.status?.phase, c.spec?.storageClassName]).sort()).toEqual([
      ['data-web-0', 'Bound', TEST_STORAGE_CLASS], ['data-web-1', 'Bound', TEST_STORAGE_CLASS], ['data-web-2', 'Bound', TEST_STORAGE_CLASS]
    ])
    const memory = await plane.memory()
    console.log(`RSS: ${Object.entries(memory).map(([name, rss]) => `${name} ${mib(rss)}`).join(', ')}`)
  })

  it('scales down through the scale subresource', async () => {
    const scale = await apps.readNamespacedStatefulSetScale({ name: NAME, namespace: NAMESPACE })
    expect(scale.spec?.replicas).toBe(3)
    await apps.replaceNamespacedStatefulSetScale({
      name: NAME, namespace: NAMESPACE, body: { ...scale, spec: { replicas: 1 } }
    })
    const left = await readyPods(1)
    expect(left.map(p => p.metadata?.name)).toEqual(['web-0'])
  })

  it('answers again after an API server restart, and the controllers carry on', async () => {
    const began = performance.now()
    await plane.restartApiServer()
    console.log(`kube-apiserver restarted in ${Math.round(performance.now() - began)} ms`)
    const sts = await apps.readNamespacedStatefulSet({ name: NAME, namespace: NAMESPACE })
    expect(sts.spec?.replicas).toBe(1)
    // The controller-manager, scheduler and kwok reconnect on their own.
    await apps.patchNamespacedStatefulSetScale({ name: NAME, namespace: NAMESPACE, body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] })
    await readyPods(2)
  })

  it('starts a client that exited on its own again, as a kubelet would, and records why', async () => {
    // kube-scheduler exits by design when its cache disagrees with the API (seen after API server restarts).
    const scheduler = plane.component('kube-scheduler')
    scheduler.child.kill('SIGKILL')
    await scheduler.exited
    await apps.patchNamespacedStatefulSetScale({ name: NAME, namespace: NAMESPACE, body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] })
    await readyPods(3)
    // The new scheduler may place the pod before its own readiness probe has answered and the plane
    // has swapped it in, so wait for the swap rather than expect it.
    await waitFor('kube-scheduler started again', async () => {
      const current = plane.component('kube-scheduler')
      return await Promise.resolve(current.pid !== scheduler.pid && current.running ? true : undefined)
    }, WAIT_MS)
    expect(plane.restarts.filter(r => r.exit === 'SIGKILL')).toEqual([expect.objectContaining({ component: 'kube-scheduler' })])
  })

  it('stops everything and removes its temp dir', async () => {
    const pids = ['etcd', 'kube-apiserver', 'kwok'] as const
    const processes = pids.map(name => plane.component(name))
    await plane.stop()
    expect(processes.every(p => !p.running)).toBe(true)
    expect(existsSync(plane.dir)).toBe(process.env.MEGANET_KEEP_CLUSTER === '1')
  })
})

describe('TestControlPlane.start failures', () => {
  it('stops what it started and quotes the log of the component that failed', async () => {
    const error = await TestControlPlane.start({ apiServerFlags: ['--no-such-flag=1'] }).catch((err: unknown) => err)
    expect(isComponentStartError(error)).toBe(true)
    const failure = error as ComponentStartError
    expect(failure.component).toBe('kube-apiserver')
    expect(failure.message).toContain('unknown flag: --no-such-flag')
    expect(existsSync(failure.logPath)).toBe(process.env.MEGANET_KEEP_CLUSTER === '1')
  }, START_TIMEOUT_MS)
})
