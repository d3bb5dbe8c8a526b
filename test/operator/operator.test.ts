import { AppsV1Api, CoreV1Api, PolicyV1Api } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FORCE_SCALE_DOWN_ANNOTATION } from '@meganet/contracts'
import { TestControlPlane } from '../cluster/control-plane.js'
import { eventually } from '../helpers/anchor-process.js'
import { fleets, installCrd } from './kube-fixtures.js'
import { OperatorProcess } from './operator-process.js'
import type { FleetObject } from './kube-fixtures.js'

const NS = 'fleets'

describe('the operator on a real control plane', () => {
  let plane: TestControlPlane
  let api: ReturnType<typeof fleets>
  const operators: OperatorProcess[] = []

  beforeAll(async () => {
    plane = await TestControlPlane.start()
    await plane.createFakeNodes(3)
    await installCrd(plane)
    await plane.createNamespace(NS)
    api = fleets(plane)
    operators.push(await OperatorProcess.start(plane.kubeconfigPath, 'op-a'))
    await eventually(async () => await operators[0]!.isLeader() ? true : undefined, 20_000, 'first operator leads')
  }, 300_000)

  afterAll(async () => {
    await Promise.all(operators.map(async o => await o.stop('SIGKILL')))
    await plane?.stop()
  })

  async function readyFleet (name: string, timeoutMs = 60_000): Promise<FleetObject> {
    return await eventually(async () => {
      const fleet = await api.get(NS, name)
      const ready = fleet.status?.conditions?.find(c => c.type === 'Ready')
      return ready?.status === 'True' && fleet.status?.observedGeneration === fleet.metadata.generation ? fleet : undefined
    }, timeoutMs, `fleet ${name} Ready`)
  }

  it('creates the StatefulSet, Services and PDB, runs the pods and reports Ready', async () => {
    await api.create(NS, 'alpha', { replicas: 3, storage: { size: '1Gi', replication: 3, writeQuorum: 2 } })
    const fleet = await readyFleet('alpha')
    expect(fleet.status).toMatchObject({ replicas: 3, readyReplicas: 3, phase: 'Ready' })
    expect(fleet.metadata.finalizers).toContain('meganet.io/drain-storage')
    expect(fleet.status?.anchors?.map(a => a.pod)).toEqual(['alpha-anchor-0', 'alpha-anchor-1', 'alpha-anchor-2'])

    const sts = await plane.client(AppsV1Api).readNamespacedStatefulSet({ name: 'alpha-anchor', namespace: NS })
    expect(sts.spec?.replicas).toBe(3)
    expect(sts.spec?.template.spec?.containers[0]?.image).toBe('meganet:test')
    expect(sts.metadata?.managedFields?.some(f => f.manager === 'meganet-operator' && f.operation === 'Apply')).toBe(true)
    const services = await plane.client(CoreV1Api).listNamespacedService({ namespace: NS })
    expect(services.items.map(s => s.metadata?.name).sort()).toEqual(['alpha-anchor-0', 'alpha-anchor-1', 'alpha-anchor-2', 'alpha-anchors'])
    const pdb = await plane.client(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: 'alpha-anchor', namespace: NS })
    expect(pdb.spec?.maxUnavailable).toBe(1)
    const pods = await plane.client(CoreV1Api).listNamespacedPod({ namespace: NS })
    expect(pods.items.filter(p => p.status?.phase === 'Running' && p.spec?.nodeName?.startsWith('kwok-node-'))).toHaveLength(3)
    expect((await api.readScale(NS, 'alpha')).status.selector).toBe('app.kubernetes.io/name=meganet-anchor,app.kubernetes.io/instance=alpha')
  })

  it('follows spec changes and the scale subresource; refuses an unsafe scale-down until forced', async () => {
    await api.patch(NS, 'alpha', [{ op: 'replace', path: '/spec/image', value: 'meganet:next' }])
    const apps = plane.client(AppsV1Api)
    await eventually(async () => (await apps.readNamespacedStatefulSet({ name: 'alpha-anchor', namespace: NS })).spec?.template.spec?.containers[0]?.image === 'meganet:next' ? true : undefined, 20_000, 'image rolled')

    await api.scale(NS, 'alpha', 4)
    await eventually(async () => (await apps.readNamespacedStatefulSet({ name: 'alpha-anchor', namespace: NS })).spec?.replicas === 4 ? true : undefined, 20_000, 'scaled up to 4')
    await readyFleet('alpha')

    // No NATS: the operator cannot drain, and these anchors store data: it refuses.
    await api.scale(NS, 'alpha', 3)
    const refused = await eventually(async () => {
      const fleet = await api.get(NS, 'alpha')
      return fleet.status?.conditions?.find(c => c.type === 'Degraded' && c.status === 'True') != null ? fleet : undefined
    }, 20_000, 'scale-down refused')
    expect(refused.status?.conditions?.find(c => c.type === 'Degraded')?.message).toContain('scale-down refused')
    expect((await apps.readNamespacedStatefulSet({ name: 'alpha-anchor', namespace: NS })).spec?.replicas).toBe(4)
    const events = await plane.client(CoreV1Api).listNamespacedEvent({ namespace: NS })
    expect(events.items.some(e => e.reason === 'ScaleDownRefused' && e.involvedObject.name === 'alpha')).toBe(true)

    await api.patch(NS, 'alpha', [{ op: 'add', path: `/metadata/annotations`, value: { [FORCE_SCALE_DOWN_ANNOTATION]: 'true' } }])
    await eventually(async () => (await apps.readNamespacedStatefulSet({ name: 'alpha-anchor', namespace: NS })).spec?.replicas === 3 ? true : undefined, 20_000, 'forced scale-down')
    await eventually(async () => {
      const services = await plane.client(CoreV1Api).listNamespacedService({ namespace: NS })
      return services.items.some(s => s.metadata?.name === 'alpha-anchor-3') ? undefined : true
    }, 20_000, 'the fourth anchor Service pruned')
  })

  it('has the API server refuse an invalid spec with a message', async () => {
    await expect(api.create(NS, 'bad-range', { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } }))
      .rejects.toThrow(/minReplicas must not exceed maxReplicas/)
    await expect(api.create(NS, 'bad-size', { storage: { size: 'lots', replication: 3, writeQuorum: 2 } }))
      .rejects.toThrow(/spec.storage.size/)
    await expect(api.create(NS, 'bad-quorum', { storage: { size: '1Gi', replication: 2, writeQuorum: 3 } }))
      .rejects.toThrow(/writeQuorum must not exceed storage.replication/)
  })

  it('reports an object the API server refuses as Degraded, with an event, and recovers once it is fixed', async () => {
    // Passes the CRD's schema, but the API server refuses the StatefulSet: an extended resource's request must equal its limit.
    await api.create(NS, 'refused', {
      replicas: 1, storage: { size: '1Gi', replication: 1, writeQuorum: 1 },
      resources: { requests: { 'example.com/widget': '1' }, limits: { 'example.com/widget': '2' } }
    })
    const degraded = await eventually(async () => {
      const fleet = await api.get(NS, 'refused')
      return fleet.status?.phase === 'Degraded' ? fleet : undefined
    }, 30_000, 'fleet refused reported Degraded')
    expect(degraded.status?.conditions?.find(c => c.type === 'Degraded')?.message).toMatch(/cannot apply StatefulSet\/refused-anchor: .*example\.com\/widget/)
    const events = await plane.client(CoreV1Api).listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.name=refused' })
    expect(events.items.filter(e => e.reason === 'ApplyFailed')).toHaveLength(1)
    await api.patch(NS, 'refused', [{ op: 'replace', path: '/spec/resources', value: { requests: { cpu: '100m' } } }])
    await readyFleet('refused')
  })

  it('collects every object when the fleet is deleted', async () => {
    await api.create(NS, 'doomed', { replicas: 1, storage: { size: '1Gi', replication: 1, writeQuorum: 1 } })
    await readyFleet('doomed')
    await api.delete(NS, 'doomed')
    const apps = plane.client(AppsV1Api)
    await eventually(async () => {
      const gone = await apps.readNamespacedStatefulSet({ name: 'doomed-anchor', namespace: NS }).then(() => false, () => true)
      const services = await plane.client(CoreV1Api).listNamespacedService({ namespace: NS, labelSelector: 'app.kubernetes.io/instance=doomed' })
      const fleetGone = await api.get(NS, 'doomed').then(() => false, () => true)
      return gone && services.items.length === 0 && fleetGone ? true : undefined
    }, 60_000, 'garbage collected')
  })

  it('keeps one leader among two operators, and the other takes over when the leader dies', async () => {
    const standby = await OperatorProcess.start(plane.kubeconfigPath, 'op-b')
    operators.push(standby)
    // No fixed sleep: wait until the standby has read the Lease at least twice (it found it held).
    await eventually(async () => (await standby.metric('meganet_operator_kube_requests_total{verb="get",code="200"}').catch(() => 0)) >= 2 ? true : undefined, 20_000, 'standby reads the lease')
    expect(await operators[0]!.isLeader()).toBe(true)
    expect(await standby.isLeader()).toBe(false)

    await operators[0]!.stop('SIGKILL')
    await eventually(async () => await standby.isLeader() ? true : undefined, 20_000, 'standby takes over')
    await api.create(NS, 'beta', { replicas: 2, storage: { size: '1Gi', replication: 2, writeQuorum: 1 } })
    await readyFleet('beta')
  })

  it('recovers when the API server restarts mid-watch', { timeout: 150_000 }, async () => {
    const leader = operators.filter(o => o.running).at(-1)!
    await plane.restartApiServer({ downtimeMs: 500 })
    await api.create(NS, 'gamma', { replicas: 2, storage: { size: '1Gi', replication: 2, writeQuorum: 1 } })
    await readyFleet('gamma', 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\noperator log:\n${leader.logs.filter(l => !l.includes('"level":20')).slice(-30).join('\n')}`)
    })
    expect(leader.running).toBe(true)
    expect(await leader.metric('meganet_operator_kube_requests_total{verb="apply",code="200"}')).toBeGreaterThan(0)
    // Every watch broke with the API server and was restarted (a re-list), which the metrics show.
    for (const resource of ['anchorfleets', 'statefulsets', 'pods']) {
      expect(await leader.metric(`meganet_operator_watch_restarts_total{resource="${resource}"}`)).toBeGreaterThan(0)
    }
    expect(await leader.metric('meganet_operator_queue_wait_seconds_count')).toBeGreaterThan(0)
  })
})
