import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { anchorFleetSpecSchema } from '@meganet/contracts'
import { App, Chart, Testing } from 'cdk8s'
import { describe, expect, it, onTestFinished } from 'vitest'
import { loadAnchorConfig } from '../../node-image/src/config/anchor-config.js'
import { AnchorFleetCrd } from './anchor-fleet-crd.js'
import { anchorConfig, peeringOption } from './anchor-config.js'
import { desiredFleetObjects } from './desired-objects.js'
import type { AnchorFleet, AnchorFleetSpecInput } from '@meganet/contracts'

function fleet (spec: AnchorFleetSpecInput = {}): AnchorFleet {
  return {
    apiVersion: 'meganet.io/v1alpha1',
    kind: 'AnchorFleet',
    metadata: { name: 'berlin', namespace: 'mesh', uid: '1234-5678' },
    spec: anchorFleetSpecSchema.parse(spec)
  }
}

/** A path for an anchor config file in a directory removed when the calling test ends. */
async function configPath (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meganet-cdk8s-'))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  return join(dir, 'anchor.json')
}

async function loadAnchorConfigOf (text: Record<string, unknown>): Promise<ReturnType<typeof loadAnchorConfig>> {
  const file = await configPath()
  await writeFile(file, JSON.stringify(text))
  return loadAnchorConfig({ file })
}

describe('FleetWorkload', () => {
  it('renders every object of a fleet, owned by the fleet', () => {
    const objects = desiredFleetObjects({ fleet: fleet({ replicas: 3 }), defaultImage: 'meganet:1', replicas: 3 })
    expect(objects.map(o => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/berlin-anchor-config', 'PodDisruptionBudget/berlin-anchor', 'Service/berlin-anchor-0', 'Service/berlin-anchor-1',
      'Service/berlin-anchor-2', 'Service/berlin-anchors', 'ServiceAccount/berlin-anchor', 'StatefulSet/berlin-anchor'
    ])
    for (const object of objects) {
      expect(object.metadata.namespace).toBe('mesh')
      expect(object.metadata.ownerReferences).toEqual([{ apiVersion: 'meganet.io/v1alpha1', kind: 'AnchorFleet', name: 'berlin', uid: '1234-5678', controller: true, blockOwnerDeletion: true }])
    }
    const sts = objects.find(o => o.kind === 'StatefulSet') as unknown as { spec: { replicas: number, template: { spec: { containers: Array<{ image: string, securityContext: unknown }> } }, volumeClaimTemplates: Array<{ spec: { resources: { requests: { storage: string } } } }> } }
    expect(sts.spec.replicas).toBe(3)
    expect(sts.spec.template.spec.containers[0]?.image).toBe('meganet:1')
    expect(sts.spec.template.spec.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false })
    expect(sts.spec.volumeClaimTemplates[0]?.spec.resources.requests.storage).toBe('10Gi')
    const pdb = objects.find(o => o.kind === 'PodDisruptionBudget') as unknown as { spec: { maxUnavailable: number } }
    expect(pdb.spec.maxUnavailable).toBe(1)
  })

  it('sizes the anchor heap to the memory limit, and only when there is one', () => {
    const env = (resources: Record<string, Record<string, string>>): unknown => {
      const objects = desiredFleetObjects({ fleet: fleet({ resources }), defaultImage: 'meganet:1', replicas: 1 })
      const sts = objects.find(o => o.kind === 'StatefulSet') as unknown as { spec: { template: { spec: { containers: Array<{ env: Array<{ name: string, value?: string }> }> } } } }
      return sts.spec.template.spec.containers[0]?.env.find(e => e.name === 'NODE_OPTIONS')?.value
    }
    expect(env({ limits: { memory: '1Gi' } })).toBe('--max-old-space-size-percentage=75 --max-semi-space-size=16')
    expect(env({ requests: { memory: '1Gi' } })).toBeUndefined()
  })

  it('follows every non-default setting', () => {
    const objects = desiredFleetObjects({
      fleet: fleet({
        image: 'registry/meganet:2', storage: { size: '50Gi', storageClassName: 'fast', replication: 3, writeQuorum: 2 },
        exposure: { type: 'LoadBalancer', annotations: { 'lb/x': 'y' } }, resources: { requests: { cpu: '500m' } }
      }),
      defaultImage: 'meganet:1',
      replicas: 2
    })
    const service = objects.find(o => o.metadata.name === 'berlin-anchor-1') as unknown as { spec: { type: string, externalTrafficPolicy: string }, metadata: { annotations: unknown } }
    expect(service.spec.type).toBe('LoadBalancer')
    expect(service.spec.externalTrafficPolicy).toBe('Local')
    expect(service.metadata.annotations).toEqual({ 'lb/x': 'y' })
    const sts = JSON.stringify(objects.find(o => o.kind === 'StatefulSet'))
    expect(sts).toContain('registry/meganet:2')
    expect(sts).toContain('"storageClassName":"fast"')
    expect(sts).toContain('"cpu":"500m"')
  })

  it('uses host ports instead of per-anchor Services when asked', () => {
    const objects = desiredFleetObjects({ fleet: fleet({ exposure: { type: 'HostPort' } }), defaultImage: 'meganet:1', replicas: 3 })
    expect(objects.filter(o => o.kind === 'Service').map(o => o.metadata.name)).toEqual(['berlin-anchors'])
    expect(JSON.stringify(objects)).toContain('"hostPort":4001')
  })

  it('spreads anchors over zones and nodes by default, and follows every scheduling and registry field', () => {
    type Pod = { metadata: { labels: Record<string, string>, annotations: Record<string, string> }, spec: Record<string, unknown> & { containers: Array<{ env: Array<{ name: string, value?: string }>, volumeMounts: unknown[], resources: unknown }>, volumes: unknown[] } }
    const podOf = (objects: ReturnType<typeof desiredFleetObjects>): Pod => (objects.find(o => o.kind === 'StatefulSet') as unknown as { spec: { template: Pod } }).spec.template
    const selector = { 'app.kubernetes.io/name': 'meganet-anchor', 'app.kubernetes.io/instance': 'berlin' }
    const plain = podOf(desiredFleetObjects({ fleet: fleet(), defaultImage: 'meganet:1', replicas: 3 }))
    expect(plain.spec['topologySpreadConstraints']).toEqual([
      { labelSelector: { matchLabels: selector }, maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
      { labelSelector: { matchLabels: selector }, maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }
    ])
    // Default requests and a memory limit, so the pod is not BestEffort and the heap is sized.
    expect(plain.spec.containers[0]?.resources).toEqual({ requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '1Gi' } })
    expect(plain.spec.containers[0]?.env.find(e => e.name === 'NODE_OPTIONS')?.value).toContain('--max-old-space-size-percentage=75')
    for (const key of ['nodeSelector', 'tolerations', 'affinity', 'priorityClassName', 'imagePullSecrets']) expect(plain.spec[key], key).toBeUndefined()

    const pod = podOf(desiredFleetObjects({
      fleet: fleet({
        nodeSelector: { pool: 'p2p' }, tolerations: [{ key: 'p2p', operator: 'Exists', effect: 'NoSchedule' }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
        topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule' }],
        priorityClassName: 'infra', imagePullSecrets: [{ name: 'regcred' }],
        podAnnotations: { 'x/y': 'z' }, podLabels: { team: 'net', 'app.kubernetes.io/name': 'hijack' },
        extraEnv: [{ name: 'A', value: 'b' }], extraVolumes: [{ name: 'extra', emptyDir: {} }], extraVolumeMounts: [{ name: 'extra', mountPath: '/extra' }]
      }),
      defaultImage: 'meganet:1',
      replicas: 3
    }))
    expect(pod.spec).toMatchObject({
      nodeSelector: { pool: 'p2p' }, tolerations: [{ key: 'p2p', operator: 'Exists', effect: 'NoSchedule' }], priorityClassName: 'infra',
      imagePullSecrets: [{ name: 'regcred' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      topologySpreadConstraints: [{ labelSelector: { matchLabels: selector }, maxSkew: 2, topologyKey: 'rack', whenUnsatisfiable: 'DoNotSchedule' }]
    })
    // Extra labels cannot take over the selector.
    expect(pod.metadata.labels).toMatchObject({ team: 'net', ...selector })
    expect(pod.metadata.annotations).toMatchObject({ 'x/y': 'z', 'prometheus.io/scrape': 'true' })
    expect(pod.spec.containers[0]?.env).toContainEqual({ name: 'A', value: 'b' })
    expect(pod.spec.volumes).toContainEqual({ name: 'extra', emptyDir: {} })
    expect(pod.spec.containers[0]?.volumeMounts).toContainEqual({ name: 'extra', mountPath: '/extra' })
    expect(podOf(desiredFleetObjects({ fleet: fleet({ topologySpreadConstraints: [] }), defaultImage: 'meganet:1', replicas: 1 })).spec['topologySpreadConstraints']).toBeUndefined()
  })

  it('mounts the operator\'s announce addresses for anchors reached from outside, and rolls pods when the config changes', () => {
    type Pod = { metadata: { annotations: Record<string, string> }, spec: { containers: Array<{ env: Array<{ name: string, value?: string }>, volumeMounts: Array<{ name: string }> }>, volumes: Array<{ name: string, configMap?: unknown }> } }
    const podOf = (spec: AnchorFleetSpecInput): Pod => (desiredFleetObjects({ fleet: fleet(spec), defaultImage: 'meganet:1', replicas: 1 }).find(o => o.kind === 'StatefulSet') as unknown as { spec: { template: Pod } }).spec.template
    const inside = podOf({})
    expect(inside.spec.volumes.map(v => v.name)).not.toContain('announce')
    expect(inside.spec.containers[0]?.env.map(e => e.name)).not.toContain('MEGANET_ANNOUNCE_FILE')
    for (const type of ['NodePort', 'HostPort', 'LoadBalancer'] as const) {
      const pod = podOf({ exposure: { type } })
      expect(pod.spec.volumes).toContainEqual({ name: 'announce', configMap: { name: 'berlin-anchor-announce', optional: true } })
      expect(pod.spec.containers[0]?.env).toContainEqual({ name: 'MEGANET_ANNOUNCE_FILE', value: '/etc/meganet/announce/$(POD_NAME)' })
      expect(pod.spec.containers[0]?.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } })
    }
    const hash = (spec: AnchorFleetSpecInput): string | undefined => podOf(spec).metadata.annotations['meganet.io/config-hash']
    expect(hash({})).toMatch(/^[0-9a-f]{16}$/)
    expect(hash({ relay: { maxReservationsPerIp: 16 } })).not.toBe(hash({}))
    expect(hash({ replicas: 5 })).toBe(hash({}))
  })

  it('serves browsers: WebRTC-direct UDP ports on every Service, container and host port, and WSS from a mounted Secret', () => {
    type Port = { name: string, protocol: string, port?: number, containerPort?: number, hostPort?: number }
    type Workload = { kind: string, metadata: { name: string }, spec: { ports?: Port[], template?: { spec: { containers: Array<{ ports: Port[], volumeMounts: Array<{ name: string, mountPath: string }> }>, volumes: Array<{ name: string, secret?: unknown }> } } } }
    const objects = (spec: AnchorFleetSpecInput): Workload[] => desiredFleetObjects({ fleet: fleet(spec), defaultImage: 'meganet:1', replicas: 1 }) as unknown as Workload[]
    const udp = (ports: Port[] = []): Port[] => ports.filter(p => p.protocol === 'UDP')
    for (const type of ['NodePort', 'LoadBalancer', 'ClusterIP'] as const) {
      const service = objects({ exposure: { type } }).find(o => o.kind === 'Service' && o.metadata.name === 'berlin-anchor-0')
      expect(udp(service?.spec.ports).map(p => [p.name, p.port])).toEqual([['p2p-webrtc', 4003], ['p2p-webrtc-r', 4004]])
    }
    const hostPorts = objects({ exposure: { type: 'HostPort' } }).find(o => o.kind === 'StatefulSet')?.spec.template?.spec.containers[0]?.ports
    expect(udp(hostPorts)).toEqual([{ name: 'p2p-webrtc', containerPort: 4003, protocol: 'UDP', hostPort: 4003 }, { name: 'p2p-webrtc-r', containerPort: 4004, protocol: 'UDP', hostPort: 4004 }])
    const off = objects({ browser: { webrtcDirect: false } }).find(o => o.kind === 'Service' && o.metadata.name === 'berlin-anchor-0')
    expect(udp(off?.spec.ports)).toEqual([])

    const pod = objects({ browser: { wssSecretName: 'anchors-tls' } }).find(o => o.kind === 'StatefulSet')?.spec.template?.spec
    expect(pod?.volumes).toContainEqual({ name: 'wss', secret: { secretName: 'anchors-tls' } })
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: 'wss', mountPath: '/etc/meganet/wss', readOnly: true })
  })

  it('mounts only the CA key of the NATS CA ConfigMap or Secret, and logs in with the identity key when told', async () => {
    type Pod = { kind: string, spec: { template?: { spec: { containers: Array<{ volumeMounts: unknown[] }>, volumes: unknown[] } } } }
    const objects = (spec: AnchorFleetSpecInput): Pod[] => desiredFleetObjects({ fleet: fleet(spec), defaultImage: 'meganet:1', replicas: 1 }) as unknown as Pod[]
    for (const [tls, volume] of [
      [{ caConfigMap: { name: 'nats-ca' } }, { name: 'nats-ca', configMap: { name: 'nats-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
      [{ caSecret: { name: 'nats-tls', key: 'ca.pem' } }, { name: 'nats-ca', secret: { secretName: 'nats-tls', items: [{ key: 'ca.pem', path: 'ca.crt' }] } }]
    ] as const) {
      const pod = objects({ nats: { url: 'nats://nats:4222', identityNkey: true, tls } }).find(o => o.kind === 'StatefulSet')?.spec.template?.spec
      expect(pod?.volumes).toContainEqual(volume)
      expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: 'nats-ca', mountPath: '/etc/meganet/nats-ca', readOnly: true })
    }
    const config = await loadAnchorConfigOf(anchorConfig('berlin', anchorFleetSpecSchema.parse({ nats: { url: 'nats://nats:4222', identityNkey: true, tls: { caConfigMap: { name: 'nats-ca' } } } })))
    expect(config.nats).toMatchObject({ identityNkey: true, tls: { caFile: '/etc/meganet/nats-ca/ca.crt' } })
    expect(anchorFleetSpecSchema.safeParse({ nats: { url: 'nats://nats:4222', tls: {} } }).success).toBe(false)
    expect(anchorFleetSpecSchema.safeParse({ nats: { url: 'nats://nats:4222', tls: { caConfigMap: { name: 'a' }, caSecret: { name: 'b' } } } }).success).toBe(false)
  })

  it('writes an anchor config file that the anchor itself accepts', async () => {
    const spec = anchorFleetSpecSchema.parse({
      region: 'eu-west', nats: { url: 'nats://nats:4222', credentialsSecret: { name: 'creds' } },
      relay: { maxReservationsPerIp: 4, circuitDataLimit: 'unlimited' }
    })
    const file = await configPath()
    await writeFile(file, JSON.stringify(anchorConfig('berlin', spec)))
    const config = loadAnchorConfig({ file })
    expect(config.fleet).toMatchObject({ region: 'eu-west', name: 'berlin' })
    expect(config.nats).toMatchObject({ servers: ['nats://nats:4222'], credsFile: '/etc/meganet/nats/nats.creds' })
    expect(config.relay.maxReservationsPerIp).toBe(4)
    expect(config.relay.circuitDataLimit).toBeNull()
    expect(config.storage.capacity).toBe(Math.floor(10 * 1024 ** 3 * 0.9))
    expect(config.listen).toMatchObject({ webrtcDirectPort: 4003, webrtcDirectRotationPort: 4004 })
    expect(config.webrtcDirect.enabled).toBe(true)
    const wss = loadAnchorConfigOf(anchorConfig('berlin', anchorFleetSpecSchema.parse({ browser: { webrtcDirect: false, wssSecretName: 'anchors-tls' } })))
    expect(await wss).toMatchObject({ webrtcDirect: { enabled: false }, wss: { certFile: '/etc/meganet/wss/tls.crt', keyFile: '/etc/meganet/wss/tls.key' } })
  })

  it('gives every anchor the fleet\'s peered fleets as its peering option, which the anchor reads back as written, and rolls them when it changes', async () => {
    const pinA = '12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'
    const pinB = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
    // A comma in the query stays whole: the config file holds a list, not the comma-separated flag text.
    const peering = [{ bootstrapUrl: 'https://north.example/bootstrap', pins: [pinA, pinB] }, { bootstrapUrl: 'http://10.0.0.7:9464/bootstrap?fleet=a,b', pins: [pinB] }]
    expect(peeringOption(peering)).toEqual([`https://north.example/bootstrap#${pinA}+${pinB}`, `http://10.0.0.7:9464/bootstrap?fleet=a,b#${pinB}`])
    const text = anchorConfig('berlin', anchorFleetSpecSchema.parse({ peering }))
    expect(text['peering']).toEqual(peeringOption(peering))
    expect((await loadAnchorConfigOf(text)).peering).toEqual(peering)
    for (const none of [{}, { peering: [] }]) {
      const config = anchorConfig('berlin', anchorFleetSpecSchema.parse(none))
      expect(config).not.toHaveProperty('peering')
      expect((await loadAnchorConfigOf(config)).peering).toEqual([])
    }
    const refreshed = anchorConfig('berlin', anchorFleetSpecSchema.parse({ peering, peeringRefresh: '1h30m' }))
    expect((await loadAnchorConfigOf(refreshed)).peeringRefresh).toBe(90 * 60_000)
    expect((await loadAnchorConfigOf(text)).peeringRefresh).toBe(5 * 60_000)

    type Workload = { kind: string, data?: Record<string, string>, spec: { template?: { metadata: { annotations: Record<string, string> } } } }
    const objects = (spec: AnchorFleetSpecInput): Workload[] => desiredFleetObjects({ fleet: fleet(spec), defaultImage: 'meganet:1', replicas: 1 }) as unknown as Workload[]
    const configMap = objects({ peering }).find(o => o.kind === 'ConfigMap')
    expect(JSON.parse(configMap?.data?.['anchor.json'] ?? '{}')).toMatchObject({ peering: peeringOption(peering) })
    const hash = (spec: AnchorFleetSpecInput): string | undefined => objects(spec).find(o => o.kind === 'StatefulSet')?.spec.template?.metadata.annotations['meganet.io/config-hash']
    expect(hash({ peering })).not.toBe(hash({}))
    expect(hash({ peering: peering.slice(0, 1) })).not.toBe(hash({ peering }))
    expect(hash({ peering: [] })).toBe(hash({}))
    expect(hash({ peering, peeringRefresh: '1m' })).not.toBe(hash({ peering }))
  })
})

describe('AnchorFleetCrd', () => {
  it('has the scale and status subresources, printer columns and CEL rules', () => {
    const chart = new Chart(new App(), 'crd')
    new AnchorFleetCrd(chart, 'crd', { keep: true })
    const [crd] = Testing.synth(chart) as Array<{ metadata: { name: string, annotations: Record<string, string> }, spec: { versions: Array<Record<string, unknown>> } }>
    expect(crd?.metadata.name).toBe('anchorfleets.meganet.io')
    expect(crd?.metadata.annotations['helm.sh/resource-policy']).toBe('keep')
    const version = crd?.spec.versions[0] as { subresources: unknown, additionalPrinterColumns: unknown[], schema: { openAPIV3Schema: { properties: { spec: { 'x-kubernetes-validations': unknown, properties: { autoscaling: { 'x-kubernetes-validations': unknown } } } } } } }
    expect(version.subresources).toEqual({ status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } })
    expect(JSON.stringify(version.schema.openAPIV3Schema.properties.spec.properties.autoscaling['x-kubernetes-validations'])).toContain('self.minReplicas <= self.maxReplicas')
    expect(version.additionalPrinterColumns).toContainEqual({ name: 'Peered', type: 'string', jsonPath: '.status.conditions[?(@.type=="Peered")].status', priority: 1 })
  })
})
