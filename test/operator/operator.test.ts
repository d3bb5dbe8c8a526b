import { AppsV1Api, CoreV1Api, PolicyV1Api } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FORCE_SCALE_DOWN_ANNOTATION } from '@meganet/contracts'
import { TestControlPlane } from '../cluster/control-plane.js'
import { eventually } from '../helpers/anchor-process.js'
import { fleets, installCrd } from './kube-fixtures.js'
import { OperatorProcess } from './operator-process.js'
import type { FleetObject } from './kube-fixtures.js'
import type { AnchorFleetSpecInput } from '@meganet/contracts'

const NS = 'fleets'
const PIN_A = '12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'
const PIN_B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const NORTH = 'https://anchors.north.example/bootstrap'

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

  it('has the API server refuse bad spec.peering with one line saying what to fix', async () => {
    const url = /^AnchorFleet\.meganet\.io "bad-[a-z-]+" is invalid: spec\.peering\[0\]\.bootstrapUrl: Invalid value: "[^"]*": must be the http\(s\) URL of the peered fleet's bootstrap list, such as https:\/\/anchors\.example\.org\/bootstrap, with no credentials \(@\), #fragment or spaces$/
    const pin = /^AnchorFleet\.meganet\.io "bad-[a-z-]+" is invalid: spec\.peering\[0\]\.pins\[1\]: Invalid value: "[^"]*": must be the PeerId \(12D3KooW…\) of an anchor of the peered fleet/
    const refusals: Array<[string, AnchorFleetSpecInput['peering'], RegExp]> = [
      ['bad-scheme', [{ bootstrapUrl: 'ftp://anchors.north.example/bootstrap', pins: [PIN_A] }], url],
      ['bad-secret', [{ bootstrapUrl: 'https://user:secret@anchors.north.example/bootstrap', pins: [PIN_A] }], url],
      ['bad-fragment', [{ bootstrapUrl: `${NORTH}#${PIN_A}`, pins: [PIN_A] }], url],
      ['bad-relative', [{ bootstrapUrl: 'anchors.north.example/bootstrap', pins: [PIN_A] }], url],
      ['bad-rsa-pin', [{ bootstrapUrl: NORTH, pins: [PIN_A, 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'] }], pin],
      ['bad-typo-pin', [{ bootstrapUrl: NORTH, pins: [PIN_A, `${PIN_B}x`] }], pin],
      ['bad-no-pins', [{ bootstrapUrl: NORTH, pins: [] }], /spec\.peering\[0\]\.pins: .*should have at least 1 items/],
      ['bad-twice', [{ bootstrapUrl: NORTH, pins: [PIN_A] }, { bootstrapUrl: NORTH, pins: [PIN_B] }], /spec\.peering: Invalid value: each bootstrapUrl may appear once: list all pins of one fleet in one entry$/],
      ['bad-many', Array.from({ length: 9 }, (_, i) => ({ bootstrapUrl: `https://f${i}.example/bootstrap`, pins: [PIN_A] })), /spec\.peering: Too many: 9: must have at most 8 items/],
      ['bad-long', [{ bootstrapUrl: `https://anchors.north.example/${'b'.repeat(2048)}`, pins: [PIN_A] }], /spec\.peering\[0\]\.bootstrapUrl: Too long: may not be more than 2048 bytes/]
    ]
    for (const [name, peering, message] of refusals) {
      const status = await api.create(NS, name, { peering }).then(() => undefined, (err: unknown) => JSON.parse((err as { body: string }).body) as { message: string, details?: { causes?: Array<{ message: string }> } })
      expect(status?.message, name).toMatch(message)
      // One problem, one cause. (Beyond maxItems the API server adds that it skipped the CEL rules: its own note, no second problem.)
      const causes = (status?.details?.causes ?? []).filter(c => !c.message.includes('some validation rules were not checked because the object was invalid'))
      expect(causes, `${name}: ${status?.message}`).toHaveLength(1)
    }
    const refresh = /^AnchorFleet\.meganet\.io "bad-refresh-[0-9]" is invalid: spec\.peeringRefresh: Invalid value: "[^"]*": must be a duration from 10s to 24h, such as 5m or 1h30m: how often each anchor fetches the peered fleets' lists again$/
    for (const [i, peeringRefresh] of ['300', '9s', '24h1s', '1d', 'soon'].entries()) {
      const message = await api.create(NS, `bad-refresh-${i}`, { peering: [{ bootstrapUrl: NORTH, pins: [PIN_A] }], peeringRefresh })
        .then(() => 'created', (err: unknown) => (JSON.parse((err as { body: string }).body) as { message: string }).message)
      expect(message, peeringRefresh).toMatch(refresh)
    }
  })

  it('renders spec.peering into the anchors\' config, rolls them when it changes, and says peering health needs NATS', async () => {
    // An IPv6 literal and a comma in the query: what the CRD admits, the anchor reads back whole.
    const south = 'http://[2001:db8::7]:9464/bootstrap?fleets=a,b'
    await api.create(NS, 'peered', { replicas: 1, storage: { size: '1Gi', replication: 1, writeQuorum: 1 }, peering: [{ bootstrapUrl: NORTH, pins: [PIN_A, PIN_B] }] })
    const fleet = await readyFleet('peered')
    expect(fleet.status?.conditions?.find(c => c.type === 'Peered')).toMatchObject({ status: 'Unknown', reason: 'MembersUnknown' })
    expect(fleet.status?.peering).toBeUndefined()
    const apps = plane.client(AppsV1Api)
    const core = plane.client(CoreV1Api)
    const rendered = async (): Promise<unknown> => (JSON.parse((await core.readNamespacedConfigMap({ name: 'peered-anchor-config', namespace: NS })).data?.['anchor.json'] ?? '{}') as { peering?: unknown }).peering
    expect(await rendered()).toEqual([`${NORTH}#${PIN_A}+${PIN_B}`])
    const sts = await apps.readNamespacedStatefulSet({ name: 'peered-anchor', namespace: NS })
    const pod = sts.spec?.template
    expect(pod?.spec?.containers[0]?.args).toEqual(['anchor', '--config', '/etc/meganet/anchor.json'])
    expect(pod?.spec?.volumes).toContainEqual({ name: 'config', configMap: { name: 'peered-anchor-config', defaultMode: 420 } })
    const hash = pod?.metadata?.annotations?.['meganet.io/config-hash']
    expect(hash).toMatch(/^[0-9a-f]{16}$/)

    await api.patch(NS, 'peered', [{ op: 'add', path: '/spec/peering/-', value: { bootstrapUrl: south, pins: [PIN_B] } }])
    await eventually(async () => {
      const next = (await apps.readNamespacedStatefulSet({ name: 'peered-anchor', namespace: NS })).spec?.template.metadata?.annotations?.['meganet.io/config-hash']
      return next != null && next !== hash ? true : undefined
    }, 20_000, 'the anchors roll with the new peering')
    expect(await rendered()).toEqual([`${NORTH}#${PIN_A}+${PIN_B}`, `${south}#${PIN_B}`])
    await api.patch(NS, 'peered', [{ op: 'remove', path: '/spec/peering' }])
    await eventually(async () => await rendered() === undefined ? true : undefined, 20_000, 'peering gone from the anchor config')
    await eventually(async () => (await api.get(NS, 'peered')).status?.conditions?.every(c => c.type !== 'Peered') === true ? true : undefined, 20_000, 'the Peered condition gone')
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
