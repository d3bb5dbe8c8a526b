import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { X509Certificate } from 'node:crypto'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { App, Chart, Testing } from 'cdk8s'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ANCHOR_FLEET, anchorFleetSpecSchema } from '@meganet/contracts'
import { OperatorDeployment } from '../../cdk8s/src/operator-deployment.js'
import { OperatorRbac } from '../../cdk8s/src/operator-rbac.js'
import { keyId, loadSigningKey } from '../../fleet-client/src/index.js'
import { AUTH_CONFIG_KEY, natsAuthConfig } from '../../operator/src/nats-auth/auth-config.js'
import { natsServerBinary } from '../helpers/nats.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import { CHART_DIR, Helm, find, kinds } from './helm.js'
import { RESTRICTED_CONTAINER, WITH_MONITORING_APIS, containerOf, defaultFleetOf, envOf } from './manifests.js'
import type { RenderedObject } from './helm.js'
import type { DashboardMap, MonitorObject, PrometheusRuleObject } from './manifests.js'
import type { V1ClusterRole, V1ClusterRoleBinding, V1ConfigMap, V1Deployment, V1NetworkPolicy, V1Pod, V1PodDisruptionBudget, V1Role, V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node'
import type { AddressInfo } from 'node:net'

const exec = promisify(execFile)
const MONITORING_KINDS = ['PodMonitor', 'PrometheusRule', 'ServiceMonitor']
const RULES_FILE = join(CHART_DIR, 'files', 'alerts', 'meganet.rules.yaml')
const DASHBOARDS_DIR = join(CHART_DIR, 'files', 'dashboards')
const IMAGE = 'ghcr.io/meganet/meganet:0.1.0'
const PEERING = [{ bootstrapUrl: 'https://anchors.north.example/bootstrap', pins: ['12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'] }]

/** The objects cdk8s synthesizes for the plain manifests: the chart mirrors them. */
function cdk8sOperatorObjects (): RenderedObject[] {
  const chart = new Chart(new App(), 'mirror')
  new OperatorRbac(chart, 'rbac', { namespace: 'mesh', instance: 'mn', serviceAccountName: 'sa', natsAuthConfigMap: 'mn-nats-auth' })
  new OperatorDeployment(chart, 'operator', { namespace: 'mesh', instance: 'mn', image: IMAGE, serviceAccountName: 'sa' })
  return Testing.synth(chart) as RenderedObject[]
}

async function listFiles (dir: string, suffix: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter(f => f.endsWith(suffix)).sort()
}

async function writeFixture (path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, text)
}

function selectorOf (object: RenderedObject): Record<string, string> | undefined {
  const spec = (object as { spec?: { selector?: Record<string, unknown> & { matchLabels?: Record<string, string> } } }).spec
  if (object.kind === 'Service') return spec?.selector as Record<string, string> | undefined
  return spec?.selector?.matchLabels
}

const helmTemplateCache: { scheduled?: RenderedObject[] } = {}

describe('charts/meganet rendered by helm', () => {
  let helm: Helm
  let defaults: RenderedObject[]

  beforeAll(async () => {
    helm = await Helm.create()
    defaults = await helm.template()
  }, 300_000)

  afterAll(async () => { await helm?.cleanup() })

  it('passes helm lint, also with --strict', async () => {
    for (const flags of [[], ['--strict'], ['--strict', '--set', 'nats.enabled=false', '--set', 'nats.external.url=nats://nats.example:4222', '--set', 'networkPolicy.enabled=true']]) {
      const out = await helm.run(['lint', CHART_DIR, ...flags])
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed')
    }
  })

  it('renders the CRD, the operator, NATS, the default fleet and the test pod, and no Prometheus objects without their API', () => {
    expect(kinds(defaults)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'Deployment',
      'NetworkPolicy', 'Pod', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount', 'StatefulSet'])
    for (const kind of MONITORING_KINDS) expect(defaults.some(o => o.kind === kind)).toBe(false)
    const crd = find(defaults, 'CustomResourceDefinition', `${ANCHOR_FLEET.plural}.${ANCHOR_FLEET.group}`)
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep')
  })

  it('labels every object with app.kubernetes.io/*, and selects on name + instance only (the NATS chart: its own labels, and part-of meganet)', () => {
    const fromNatsChart = (o: RenderedObject): boolean => o.metadata.labels?.['helm.sh/chart']?.startsWith('nats-') === true
    for (const object of defaults.filter(fromNatsChart)) {
      expect(object.metadata.labels, `${object.kind}/${object.metadata.name}`).toMatchObject({
        'app.kubernetes.io/instance': 'mn', 'app.kubernetes.io/part-of': 'meganet', 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/name': 'nats'
      })
    }
    expect(defaults.filter(fromNatsChart).map(o => o.kind).sort()).toEqual(['ConfigMap', 'PodDisruptionBudget', 'Service', 'Service', 'StatefulSet'])
    for (const object of defaults.filter(o => o.kind !== 'CustomResourceDefinition' && !fromNatsChart(o))) {
      const what = `${object.kind}/${object.metadata.name}`
      expect(object.metadata.labels, what).toMatchObject({
        'app.kubernetes.io/instance': 'mn', 'app.kubernetes.io/part-of': 'meganet', 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/version': '0.1.0'
      })
      expect(object.metadata.labels?.['app.kubernetes.io/name'], what).toMatch(/^meganet/)
      expect(object.metadata.labels?.['app.kubernetes.io/component'], what).toBeTruthy()
      const selector = selectorOf(object)
      if (selector != null) expect(Object.keys(selector).sort(), what).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name'])
    }
  })

  it('gives the operator the same least-privilege RBAC as cdk8s/src/operator-rbac.ts', () => {
    const mirror = cdk8sOperatorObjects()
    expect(find<V1ClusterRole>(defaults, 'ClusterRole').rules).toEqual(find<V1ClusterRole>(mirror, 'ClusterRole').rules)
    expect(find<V1ClusterRole>(defaults, 'ClusterRole').rules).toContainEqual({ apiGroups: [''], resources: ['nodes'], verbs: ['get'] })
    expect(find<V1Role>(defaults, 'Role').rules).toEqual(find<V1Role>(mirror, 'Role').rules)
    for (const binding of [find<V1ClusterRoleBinding>(defaults, 'ClusterRoleBinding'), find<V1ClusterRoleBinding>(defaults, 'RoleBinding')]) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mn-meganet-operator', namespace: 'mesh' }])
    }
    find(defaults, 'ServiceAccount', 'mn-meganet-operator')
    expect(JSON.stringify(defaults.filter(o => o.kind === 'ClusterRole' || o.kind === 'Role'))).not.toContain('secrets')
  })

  it('watches only listed namespaces with Roles there, like cdk8s/src/operator-rbac.ts, when operator.watchNamespaces is set', async () => {
    const objects = await helm.template(['--set', 'operator.watchNamespaces={eu,us}'])
    const chart = new Chart(new App(), 'mirror-ns')
    new OperatorRbac(chart, 'rbac', { namespace: 'mesh', instance: 'mn', serviceAccountName: 'sa', watchNamespaces: ['eu', 'us'] })
    const mirror = Testing.synth(chart) as RenderedObject[]
    const roles = objects.filter(o => o.kind === 'Role' && !o.metadata.name.endsWith('leader-election')) as Array<V1Role & RenderedObject>
    expect(roles.map(r => r.metadata.namespace)).toEqual(['eu', 'us'])
    const mirrorRoles = mirror.filter(o => o.kind === 'Role') as Array<V1Role & RenderedObject>
    for (const role of roles) expect(role.rules).toEqual(mirrorRoles[0]?.rules)
    // Cluster-wide: Nodes to read, nothing else.
    expect(find<V1ClusterRole>(objects, 'ClusterRole').rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }])
    expect(find<V1ClusterRole>(objects, 'ClusterRole').rules).toEqual(find<V1ClusterRole>(mirror, 'ClusterRole').rules)
    expect(objects.filter(o => o.kind === 'RoleBinding').map(o => o.metadata.namespace).sort()).toEqual(['eu', 'mesh', 'us'])
    expect(envOf(containerOf(find<V1Deployment>(objects, 'Deployment')))['MEGANET_OPERATOR_WATCH_NAMESPACES']).toBe('eu,us')
  })

  it('runs two restricted operator replicas like cdk8s/src/operator-deployment.ts, with probes, metrics and the anchor image', async () => {
    const deployment = find<V1Deployment>(defaults, 'Deployment', 'mn-meganet-operator')
    const mirror = find<V1Deployment>(cdk8sOperatorObjects(), 'Deployment')
    expect(deployment.spec?.replicas).toBe(2)
    expect(deployment.spec?.template.spec?.securityContext).toEqual(mirror.spec?.template.spec?.securityContext)
    expect(deployment.spec?.template.spec?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    const c = containerOf(deployment)
    const m = containerOf(mirror)
    for (const field of ['image', 'command', 'ports', 'readinessProbe', 'livenessProbe', 'securityContext'] as const) expect(c[field], field).toEqual(m[field])
    expect(c.securityContext).toEqual(RESTRICTED_CONTAINER)
    expect(envOf(c)).toMatchObject({ MEGANET_OPERATOR_IMAGE: IMAGE, MEGANET_OPERATOR_LEASE_NAME: 'mn-meganet-operator', MEGANET_OPERATOR_LOG_LEVEL: 'info' })
    expect(c.env?.find(e => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace')
    expect(c.env?.find(e => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '384Mi' } })
    expect(find<V1Service>(defaults, 'Service', 'mn-meganet-operator').spec?.ports?.map(p => [p.name, p.port])).toEqual([['health', 8080], ['metrics', 9465]])
    expect(find<V1PodDisruptionBudget>(defaults, 'PodDisruptionBudget', 'mn-meganet-operator').spec?.minAvailable).toBe(1)

    const tagged = await helm.template(['--set', 'image.tag=9.9.9', '--set', 'operator.replicas=1'])
    expect(envOf(containerOf(find<V1Deployment>(tagged, 'Deployment')))['MEGANET_OPERATOR_IMAGE']).toBe('ghcr.io/meganet/meganet:9.9.9')
    expect(tagged.some(o => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'mn-meganet-operator')).toBe(false)
  })

  it('runs NATS from the official chart: a 3-server JetStream cluster on volumes, its exporter, a PDB, lame-duck stop and restricted pods', async () => {
    const sts = find<V1StatefulSet>(defaults, 'StatefulSet', 'mn-nats')
    expect(sts.metadata?.labels?.['helm.sh/chart']).toBe('nats-2.14.2')
    expect(sts.spec).toMatchObject({ replicas: 3, serviceName: 'mn-nats-headless' })
    expect(sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.['storage']).toBe('10Gi')
    const nats = containerOf(sts, 'nats')
    expect(nats.image).toBe('nats:2.15.2-alpine')
    expect(nats.lifecycle?.preStop?.exec?.command).toEqual(['nats-server', '-sl=ldm=/var/run/nats/nats.pid'])
    for (const name of ['nats', 'reloader', 'prom-exporter']) expect(containerOf(sts, name).securityContext, name).toEqual(RESTRICTED_CONTAINER)
    expect(containerOf(sts, 'prom-exporter').ports?.[0]).toMatchObject({ name: 'prom-metrics', containerPort: 7777 })
    expect(sts.spec?.template.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } })
    expect(sts.spec?.template.spec?.terminationGracePeriodSeconds).toBeGreaterThan(40)
    expect(sts.spec?.template.spec?.topologySpreadConstraints?.map(c => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone'])
    expect(find<V1Service>(defaults, 'Service', 'mn-nats-headless').spec?.clusterIP).toBe('None')
    expect(find<V1Service>(defaults, 'Service', 'mn-nats').spec?.ports?.[0]?.port).toBe(4222)
    expect(find<V1PodDisruptionBudget>(defaults, 'PodDisruptionBudget', 'mn-nats').spec?.maxUnavailable).toBe(1)
    expect(defaults.some(o => o.metadata.name.includes('nats-box'))).toBe(false)

    const config = async (objects: RenderedObject[]): Promise<string> => {
      const conf = find<V1ConfigMap>(objects, 'ConfigMap', 'mn-nats-config').data?.['nats.conf'] ?? ''
      // The real nats-server (the version the image tag names) accepts the rendered config.
      const dir = await mkdtemp(join(tmpdir(), 'meganet-nats-conf-'))
      try {
        // As the pod mounts them: the chart's config and, beside it, the auth config the operator writes.
        await mkdir(join(dir, 'nats-config'))
        await mkdir(join(dir, 'nats-auth'))
        await writeFile(join(dir, 'nats-config', 'nats.conf'), conf)
        await writeFile(join(dir, 'nats-auth', AUTH_CONFIG_KEY), natsAuthConfig(testOperatorKey().key))
        // And the TLS files from the chart's Secret, where the config names them.
        const tls = find<V1Secret>(objects, 'Secret', 'mn-nats-tls').data ?? {}
        for (const [folder, files] of [['nats-certs/nats', ['tls.crt', 'tls.key']], ['nats-certs/cluster', ['tls.crt', 'tls.key']], ['nats-ca-cert', ['ca.crt']]] as const) {
          await mkdir(join(dir, folder), { recursive: true })
          for (const file of files) await writeFile(join(dir, folder, file), Buffer.from(tls[file] ?? '', 'base64'))
        }
        await writeFile(join(dir, 'nats-config', 'nats.conf'), conf.replaceAll('/etc/nats-certs/', `${dir}/nats-certs/`).replaceAll('/etc/nats-ca-cert/', `${dir}/nats-ca-cert/`))
        const { stdout, stderr } = await exec(natsServerBinary(), ['-c', join(dir, 'nats-config', 'nats.conf'), '-t'], { env: { ...process.env, SERVER_NAME: 'mn-nats-0' } })
        expect(`${stdout}${stderr}`).toContain('is valid')
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
      return conf
    }
    const conf = await config(defaults)
    expect(conf).toContain('tls://mn-nats-2.mn-nats-headless:6222')
    // Locked down: the auth config the operator writes is included, and mounted where the include and the reloader find it.
    expect(conf).toMatch(/include \.\.\/nats-auth\/auth\.conf/)
    expect(sts.spec?.template.spec?.volumes).toContainEqual({ name: 'meganet-nats-auth', configMap: { name: 'mn-nats-auth' } })
    for (const name of ['nats', 'reloader']) expect(containerOf(sts, name).volumeMounts, name).toContainEqual(expect.objectContaining({ name: 'meganet-nats-auth', mountPath: '/etc/nats-auth' }))
    expect(containerOf(sts, 'reloader').args).toContain('/etc/nats-auth/auth.conf')
    const operatorEnv = envOf(containerOf(find<V1Deployment>(defaults, 'Deployment', 'mn-meganet-operator')))
    expect(operatorEnv['MEGANET_OPERATOR_NATS_AUTH_SERVERS']).toBe('nats://mn-nats.mesh.svc.cluster.local:4222')
    expect(operatorEnv['MEGANET_OPERATOR_NATS_AUTH_CONFIG_MAP']).toBe('mn-nats-auth')
    expect(find<V1Role>(defaults, 'Role', 'mn-meganet-operator-leader-election').rules).toContainEqual({ apiGroups: [''], resources: ['configmaps'], resourceNames: ['mn-nats-auth'], verbs: ['get', 'update', 'patch'] })
    // TLS for clients and routes, with a certificate for the client Service and every server's route name, from the chart's CA.
    expect(conf).toMatch(/"tls": \{[^}]*"cert_file": "\/etc\/nats-certs\/nats\/tls\.crt"/)
    expect(conf).toMatch(/"cluster": \{[\s\S]*"tls": \{[^}]*"ca_file": "\/etc\/nats-ca-cert\/ca\.crt"/)
    const tls = find<V1Secret>(defaults, 'Secret', 'mn-nats-tls')
    expect(tls.type).toBe('kubernetes.io/tls')
    const ca = new X509Certificate(Buffer.from(tls.data?.['ca.crt'] ?? '', 'base64'))
    const server = new X509Certificate(Buffer.from(tls.data?.['tls.crt'] ?? '', 'base64'))
    expect(server.verify(ca.publicKey)).toBe(true)
    for (const name of ['mn-nats', 'mn-nats.mesh.svc.cluster.local', '*.mn-nats-headless']) expect(server.subjectAltName).toContain(`DNS:${name}`)
    expect(find<V1ConfigMap>(defaults, 'ConfigMap', 'mn-nats-ca').data?.['ca.crt']?.trim()).toBe(ca.toString().trim())
    expect(operatorEnv['MEGANET_OPERATOR_NATS_CA_FILE']).toBe('/etc/meganet/nats-ca/ca.crt')
    expect(find<V1Deployment>(defaults, 'Deployment', 'mn-meganet-operator').spec?.template.spec?.volumes).toContainEqual({ name: 'nats-ca', configMap: { name: 'mn-nats-ca' } })
    expect(conf).toContain('"lame_duck_duration": "30s"')
    expect(conf).toMatch(/"max_memory_store": 256Mi/)
    // Regions: gateways and leafnodes are the official chart's own values, under nats.*.
    const regions = await helm.template(['--set', 'nats.config.gateway.enabled=true', '--set', 'nats.config.gateway.merge.name=eu-west',
      '--set', 'nats.config.leafnodes.enabled=true', '--set', 'networkPolicy.enabled=true'])
    const regional = await config(regions)
    expect(regional).toContain('"gateway"')
    expect(regional).toContain('"leafnodes"')
    expect(find<V1NetworkPolicy>(regions, 'NetworkPolicy', 'mn-nats').spec?.ingress).toEqual(expect.arrayContaining([
      { ports: [{ port: 7222, protocol: 'TCP' }] }, { ports: [{ port: 7422, protocol: 'TCP' }] }]))
  })

  it('renders the default AnchorFleet, pointing at the chart\'s NATS, into a ConfigMap the operator mounts and applies', async () => {
    helmTemplateCache.scheduled = await helm.template(['--set', 'defaultFleet.nodeSelector.pool=p2p', '--set', 'defaultFleet.tolerations[0].key=p2p',
      '--set', 'defaultFleet.tolerations[0].operator=Exists', '--set', 'defaultFleet.priorityClassName=high', '--set-json', 'defaultFleet.topologySpreadConstraints=[]',
      '--set', 'imagePullSecrets[0].name=regcred', '--set', 'defaultFleet.podAnnotations.a=b', '--set', 'defaultFleet.podLabels.team=net',
      '--set', 'defaultFleet.extraEnv[0].name=X', '--set', 'defaultFleet.extraEnv[0].value=y', '--set-json', `defaultFleet.peering=${JSON.stringify(PEERING)}`, '--set', 'defaultFleet.peeringRefresh=1h30m'])
    const fleet = defaultFleetOf(defaults)
    expect(fleet.metadata).toMatchObject({ name: 'meganet', namespace: 'mesh' })
    const operator = find<V1Deployment>(defaults, 'Deployment', 'mn-meganet-operator')
    expect(envOf(containerOf(operator))['MEGANET_OPERATOR_DEFAULT_FLEET_FILE']).toBe('/etc/meganet/default-fleet/fleet.json')
    expect(operator.spec?.template.spec?.volumes).toContainEqual({ name: 'default-fleet', configMap: { name: 'mn-meganet-default-fleet' } })
    const without = await helm.template(['--set', 'defaultFleet.enabled=false'])
    expect(without.some(o => o.metadata.name.endsWith('-default-fleet'))).toBe(false)
    expect(envOf(containerOf(find<V1Deployment>(without, 'Deployment')))['MEGANET_OPERATOR_DEFAULT_FLEET_FILE']).toBeUndefined()
    expect(fleet.spec).toEqual({
      replicas: 3, region: 'local', storage: { size: '10Gi', replication: 3, writeQuorum: 2 },
      resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '1Gi' } },
      nats: { url: 'nats://mn-nats.mesh.svc.cluster.local:4222', identityNkey: true, tls: { caConfigMap: { name: 'mn-nats-ca', key: 'ca.crt' } } }, exposure: { type: 'ClusterIP', nodeAddressTypes: ['ExternalIP', 'InternalIP'] },
      browser: { webrtcDirect: true }
    })
    const scheduled = defaultFleetOf(helmTemplateCache.scheduled ?? [])
    expect(scheduled.spec).toMatchObject({
      nodeSelector: { pool: 'p2p' }, tolerations: [{ key: 'p2p', operator: 'Exists' }], priorityClassName: 'high',
      topologySpreadConstraints: [], imagePullSecrets: [{ name: 'regcred' }], podAnnotations: { a: 'b' }, podLabels: { team: 'net' },
      extraEnv: [{ name: 'X', value: 'y' }], peering: PEERING, peeringRefresh: '1h30m'
    })
    // The operator takes the rendered fleet as the CRD would.
    expect(anchorFleetSpecSchema.safeParse(scheduled.spec).success).toBe(true)
  })

  it('takes the WSS certificate from a Secret, which cert-manager issues only where the cluster serves its Certificate', async () => {
    const wss = ['--set', 'defaultFleet.browser.wss.secretName=anchors-tls', '--set', 'defaultFleet.browser.wss.certManager.issuerRef.name=letsencrypt',
      '--set', 'defaultFleet.browser.wss.certManager.dnsNames={anchors.example.net}']
    const without = await helm.template(wss)
    expect(defaultFleetOf(without).spec).toMatchObject({ browser: { webrtcDirect: true, wssSecretName: 'anchors-tls' } })
    expect(kinds(without)).not.toContain('Certificate')
    const objects = await helm.template([...wss, '--api-versions', 'cert-manager.io/v1/Certificate'])
    expect(find<{ spec: unknown }>(objects, 'Certificate', 'mn-meganet-anchors-wss').spec).toEqual({
      secretName: 'anchors-tls', dnsNames: ['anchors.example.net'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' }
    })
    const noNames = await helm.template([...wss.slice(0, 4), '--api-versions', 'cert-manager.io/v1/Certificate']).then(() => '', (err: Error) => err.message)
    expect(noNames).toContain('defaultFleet.browser.wss.certManager.dnsNames is empty')
    expect(defaultFleetOf(await helm.template(['--set', 'defaultFleet.browser.webrtcDirect=false'])).spec).toMatchObject({ browser: { webrtcDirect: false } })
  })

  it('renders the ServiceMonitor, PodMonitor and PrometheusRule only when the cluster serves monitoring.coreos.com/v1 and the toggles are on', async () => {
    const objects = await helm.template(WITH_MONITORING_APIS)
    const rules = await readFile(RULES_FILE, 'utf8').catch(() => undefined)
    expect(kinds(objects).filter(k => MONITORING_KINDS.includes(k))).toEqual(rules != null ? MONITORING_KINDS : ['PodMonitor', 'ServiceMonitor'])
    expect(objects.filter(o => o.kind === 'PodMonitor').map(o => o.metadata.name)).toEqual(['mn-meganet-anchors', 'mn-meganet-nats'])
    const serviceMonitor = find<MonitorObject>(objects, 'ServiceMonitor')
    expect(serviceMonitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'meganet-operator', 'app.kubernetes.io/instance': 'mn' })
    expect(serviceMonitor.spec.endpoints?.[0]).toMatchObject({ port: 'metrics', path: '/metrics' })
    // `job` is app.kubernetes.io/name: meganet-operator, meganet-anchor, nats (the alerts and dashboards select on it).
    expect(serviceMonitor.spec).toMatchObject({ jobLabel: 'app.kubernetes.io/name' })
    const podMonitor = find<MonitorObject>(objects, 'PodMonitor', 'mn-meganet-anchors')
    expect(podMonitor.spec).toMatchObject({ jobLabel: 'app.kubernetes.io/name' })
    expect(podMonitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'meganet-anchor' })
    expect(podMonitor.spec.podMetricsEndpoints?.[0]).toMatchObject({ port: 'http', path: '/metrics' })
    // The operator manages every namespace by default, so anchors are scraped in all of them; with watchNamespaces, in those.
    expect(podMonitor.spec.namespaceSelector).toEqual({ any: true })
    const watched = await helm.template([...WITH_MONITORING_APIS, '--set', 'operator.watchNamespaces={eu,us}'])
    expect(find<MonitorObject>(watched, 'PodMonitor', 'mn-meganet-anchors').spec.namespaceSelector).toEqual({ matchNames: ['eu', 'us'] })
    const natsMonitor = find<MonitorObject>(objects, 'PodMonitor', 'mn-meganet-nats')
    expect(natsMonitor.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'mn', 'app.kubernetes.io/component': 'nats' })
    expect(natsMonitor.spec.podMetricsEndpoints?.[0]).toMatchObject({ port: 'prom-metrics' })
    if (rules != null) expect(find<PrometheusRuleObject>(objects, 'PrometheusRule').spec.groups).toEqual((parse(rules) as { groups: unknown[] }).groups)

    // One API alone renders its object alone; a toggle turns its object off.
    const one = await helm.template(['--api-versions', 'monitoring.coreos.com/v1/PodMonitor', '--set', 'monitoring.podMonitor.namespaceSelector.matchNames={mesh}'])
    expect(kinds(one).filter(k => MONITORING_KINDS.includes(k))).toEqual(['PodMonitor'])
    expect(find<MonitorObject>(one, 'PodMonitor', 'mn-meganet-anchors').spec.namespaceSelector).toEqual({ matchNames: ['mesh'] })
    const off = await helm.template([...WITH_MONITORING_APIS, '--set', 'monitoring.serviceMonitor.enabled=false', '--set', 'monitoring.podMonitor.enabled=false', '--set', 'monitoring.prometheusRule.enabled=false'])
    expect(kinds(off).filter(k => MONITORING_KINDS.includes(k))).toEqual([])
  })

  it('ships one dashboard ConfigMap per files/dashboards/*.json and the alert groups of files/alerts/meganet.rules.yaml', async () => {
    // The chart's own files (synth copies them from dashboards/): one ConfigMap each.
    const shipped = await listFiles(DASHBOARDS_DIR, '.json')
    const rendered = defaults.filter((o): o is DashboardMap => o.kind === 'ConfigMap' && o.metadata.labels?.['grafana_dashboard'] === '1')
    expect(rendered.flatMap(o => Object.keys(o.data)).sort()).toEqual(shipped)

    // A copy of the chart with fixture files, to pin the naming, labels and content.
    const dir = await mkdtemp(join(tmpdir(), 'meganet-chart-'))
    try {
      const chart = join(dir, 'meganet')
      await cp(CHART_DIR, chart, { recursive: true, filter: src => !src.startsWith(join(CHART_DIR, 'files')) })
      const dashboard = '{\n  "uid": "meganet-fleet",\n  "title": "MegaNet fleet",\n  "templating": { "list": [{ "name": "datasource", "type": "datasource" }] }\n}'
      await writeFixture(join(chart, 'files', 'dashboards', 'Fleet_Overview.json'), dashboard)
      await writeFixture(join(chart, 'files', 'dashboards', 'relay.json'), '{ "uid": "meganet-relay" }')
      const rules = 'groups:\n  - name: meganet-fixture\n    rules:\n      - alert: Fixture\n        expr: vector(1)\n        annotations:\n          summary: "{{ $labels.pod }} is a fixture"\n'
      await writeFixture(join(chart, 'files', 'alerts', 'meganet.rules.yaml'), rules)

      const objects = await helm.template([...WITH_MONITORING_APIS, '--set', 'monitoring.dashboards.label=my_dashboards', '--set', 'monitoring.dashboards.labelValue=yes',
        '--set', 'monitoring.dashboards.folder=Backbone', '--set', 'monitoring.dashboards.namespace=grafana'], { chart })
      const maps = objects.filter((o): o is DashboardMap => o.kind === 'ConfigMap' && o.metadata.labels?.['my_dashboards'] === 'yes')
      expect(maps.map(o => [o.metadata.name, o.metadata.namespace, o.metadata.annotations?.['grafana_folder']])).toEqual([
        ['mn-meganet-dashboard-fleet-overview', 'grafana', 'Backbone'], ['mn-meganet-dashboard-relay', 'grafana', 'Backbone']])
      expect(maps[0]?.data['Fleet_Overview.json']).toBe(dashboard)
      expect(find<PrometheusRuleObject>(objects, 'PrometheusRule').spec.groups).toEqual([
        { name: 'meganet-fixture', rules: [{ alert: 'Fixture', expr: 'vector(1)', annotations: { summary: '{{ $labels.pod }} is a fixture' } }] }])

      const noFolder = await helm.template(['--set', 'monitoring.dashboards.folder='], { chart })
      expect(noFolder.filter(o => o.metadata.labels?.['grafana_dashboard'] === '1').map(o => o.metadata.annotations)).toEqual([undefined, undefined])
      const disabled = await helm.template(['--set', 'monitoring.dashboards.enabled=false'], { chart })
      expect(disabled.some(o => o.metadata.labels?.['grafana_dashboard'] != null)).toBe(false)

      await writeFixture(join(chart, 'files', 'alerts', 'meganet.rules.yaml'), 'rules: []\n')
      await expect(helm.template(WITH_MONITORING_APIS, { chart })).rejects.toThrow(/has no top-level groups/)
      await rm(join(chart, 'files', 'alerts'), { recursive: true })
      expect((await helm.template(WITH_MONITORING_APIS, { chart })).some(o => o.kind === 'PrometheusRule')).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('makes the operator\'s command key once, keeps it, and mounts it; or uses a Secret of yours', async () => {
    const secret = find<{ data: Record<string, string>, metadata: { annotations?: Record<string, string> } }>(defaults, 'Secret', 'mn-meganet-operator-command-key')
    expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep')
    const dir = await mkdtemp(join(tmpdir(), 'meganet-command-key-'))
    try {
      await writeFile(join(dir, 'key.pem'), Buffer.from(secret.data['key.pem'] ?? '', 'base64'))
      expect(keyId(await loadSigningKey(join(dir, 'key.pem')))).toMatch(/^12D3KooW/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const operator = find<V1Deployment>(defaults, 'Deployment', 'mn-meganet-operator')
    expect(envOf(containerOf(operator))['MEGANET_OPERATOR_COMMAND_KEY_FILE']).toBe('/etc/meganet/command-key/key.pem')
    expect(operator.spec?.template.spec?.volumes).toContainEqual({ name: 'command-key', secret: { secretName: 'mn-meganet-operator-command-key', defaultMode: 288 } })
    const own = await helm.template(['--set', 'operator.commandKey.create=false', '--set', 'operator.commandKey.existingSecret=my-key', '--set', 'operator.commandKey.key=operator.pem'])
    expect(own.some(o => o.kind === 'Secret' && o.metadata.name.endsWith('command-key'))).toBe(false)
    const mine = find<V1Deployment>(own, 'Deployment', 'mn-meganet-operator')
    expect(envOf(containerOf(mine))['MEGANET_OPERATOR_COMMAND_KEY_FILE']).toBe('/etc/meganet/command-key/operator.pem')
    expect(mine.spec?.template.spec?.volumes).toContainEqual({ name: 'command-key', secret: { secretName: 'my-key', defaultMode: 288 } })
    await expect(helm.template(['--set', 'operator.commandKey.create=false'])).rejects.toThrow(/set existingSecret when create is false/)
  })

  it('uses an external NATS, with a credentials Secret, when nats.enabled=false', async () => {
    const url = 'nats://nats-a.example:4222,nats://nats-b.example:4333'
    const objects = await helm.template(['--set', 'nats.enabled=false', '--set', `nats.external.url=${url.replace(',', '\\,')}`,
      '--set', 'nats.external.credentialsSecret.name=nats-creds', '--set', 'networkPolicy.enabled=true'])
    expect(objects.filter(o => o.metadata.name.includes('nats') && o.kind !== 'NetworkPolicy')).toEqual([])
    expect(defaultFleetOf(objects).spec.nats).toEqual({ url, credentialsSecret: { name: 'nats-creds', key: 'nats.creds' } })
    const operator = find<V1Deployment>(objects, 'Deployment')
    expect(envOf(containerOf(operator))['MEGANET_OPERATOR_NATS_CREDS_FILE']).toBe('/etc/meganet/nats/nats.creds')
    // Someone else's NATS: the operator neither writes its config nor decides its logins.
    expect(envOf(containerOf(operator))['MEGANET_OPERATOR_NATS_AUTH_SERVERS']).toBeUndefined()
    expect(envOf(containerOf(operator))['MEGANET_OPERATOR_NATS_AUTH_CONFIG_MAP']).toBeUndefined()
    expect(operator.spec?.template.spec?.volumes).toContainEqual({ name: 'nats-creds', secret: { secretName: 'nats-creds' } })
    // The operator may leave for the external servers' ports.
    expect(find<V1NetworkPolicy>(objects, 'NetworkPolicy', 'mn-meganet-operator').spec?.egress).toContainEqual({ ports: [{ port: 4222, protocol: 'TCP' }, { port: 4333, protocol: 'TCP' }] })
  })

  it('renders NetworkPolicies by default (off only when disabled): public p2p ports, NATS only for this namespace\'s anchors and operator, operator egress to the API server and NATS', async () => {
    expect((await helm.template(['--set', 'networkPolicy.enabled=false'])).some(o => o.kind === 'NetworkPolicy')).toBe(false)
    const objects = defaults.filter(o => o.kind === 'NetworkPolicy')
    expect(objects.map(o => o.metadata.name).sort()).toEqual(['mn-meganet-anchors', 'mn-meganet-operator', 'mn-nats'])
    const anchors = find<V1NetworkPolicy>(objects, 'NetworkPolicy', 'mn-meganet-anchors').spec
    expect(anchors?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'meganet-anchor' })
    expect(anchors?.ingress?.[0]).toEqual({ ports: [{ port: 4001, protocol: 'TCP' }, { port: 4002, protocol: 'TCP' }, { port: 4003, protocol: 'UDP' }, { port: 4004, protocol: 'UDP' }] })
    expect(anchors?.ingress?.[1]).toEqual({ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: 9464, protocol: 'TCP' }] })
    const nats = find<V1NetworkPolicy>(objects, 'NetworkPolicy', 'mn-nats').spec
    // Raw JSON: client-node's model calls `from` `_from`.
    const from = (nats?.ingress?.[0] as { from?: Array<{ podSelector?: { matchLabels?: Record<string, string> } }> } | undefined)?.from
    expect(from?.map(f => f.podSelector?.matchLabels?.['app.kubernetes.io/name'])).toEqual(['meganet-anchor', 'meganet-operator'])
    // Anchors of this release's namespace only (no namespaceSelector: {} admitting every namespace), plus those named.
    expect(JSON.stringify(from)).not.toContain('namespaceSelector')
    const wider = find<V1NetworkPolicy>(await helm.template(['--set', 'networkPolicy.natsClientNamespaces={edge-eu}']), 'NetworkPolicy', 'mn-nats').spec
    const widerFrom = (wider?.ingress?.[0] as { from?: Array<{ namespaceSelector?: { matchLabels?: Record<string, string> } }> } | undefined)?.from
    expect(widerFrom?.map(f => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'])).toEqual([undefined, 'edge-eu', undefined])
    expect(nats?.ingress?.[0]?.ports).toEqual([{ port: 4222, protocol: 'TCP' }])
    expect(nats?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'mn', 'app.kubernetes.io/component': 'nats' })
    const operator = find<V1NetworkPolicy>(objects, 'NetworkPolicy', 'mn-meganet-operator').spec
    expect(operator?.policyTypes).toEqual(['Ingress', 'Egress'])
    expect(operator?.egress?.[0]).toEqual({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] })
    expect(operator?.egress?.[1]?.to?.[0]?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'mn', 'app.kubernetes.io/component': 'nats' })
  })

  it('has values.schema.json refuse bad values with a message', async () => {
    const refusals: Array<[string[], RegExp]> = [
      [['--set', 'operator.replicas=-1'], /operator\/replicas.*minimum/],
      [['--set', 'nats.enabled=false'], /nats\/external\/url.*minLength/],
      [['--set', 'defaultFleet.exposure.type=Public'], /defaultFleet\/exposure\/type/],
      [['--set', 'defaultFleet.roles={relay,gateway}'], /defaultFleet\/roles\/1/],
      [['--set', 'nats.config.cluster.replicas=2'], /nats\/config\/cluster\/replicas/],
      [['--set', 'nats.config.jetstream.enabled=false'], /nats\/config\/jetstream\/enabled/],
      [['--set', 'operator.watchNamespaces={Bad_Name}'], /operator\/watchNamespaces\/0/],
      [['--set', 'operator.leaseDuration=soon'], /operator\/leaseDuration/],
      [['--set', 'operator.replica=3'], /additional properties 'replica' not allowed|additionalProperties/],
      [['--set-json', 'defaultFleet.peering=[{"bootstrapUrl":"ftp://north.example/bootstrap","pins":["12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh"]}]'], /defaultFleet\/peering\/0\/bootstrapUrl/],
      [['--set-json', 'defaultFleet.peering=[{"bootstrapUrl":"https://north.example/bootstrap","pins":["QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"]}]'], /defaultFleet\/peering\/0\/pins\/0/],
      [['--set-json', 'defaultFleet.peering=[{"bootstrapUrl":"https://north.example/bootstrap","pins":[]}]'], /defaultFleet\/peering\/0\/pins/],
      [['--set', 'defaultFleet.peeringRefresh=300'], /defaultFleet\/peeringRefresh/]
    ]
    for (const [args, message] of refusals) {
      await expect(helm.template(args), args.join(' ')).rejects.toThrow(message)
    }
    await expect(helm.run(['lint', CHART_DIR, '--set', 'operator.replicas=-1'])).rejects.toThrow(/operator\/replicas/)
  })

  it('has a restricted helm test pod whose check waits for the operator\'s /readyz', async () => {
    const pod = find<V1Pod>(defaults, 'Pod')
    expect(pod.metadata?.annotations?.['helm.sh/hook']).toBe('test')
    expect(pod.spec?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } })
    const c = pod.spec?.containers[0]
    expect(c?.securityContext).toEqual(RESTRICTED_CONTAINER)
    expect(envOf(c ?? { name: '' })['READYZ_URL']).toBe('http://mn-meganet-operator.mesh.svc.cluster.local:8080/readyz')
    const [node, flag, script = ''] = c?.command ?? []
    expect([node, flag]).toEqual(['node', '-e'])

    // The same script, run here: 503 twice, then 200, passes; nothing listening fails in time.
    let calls = 0
    const server = createServer((_req, res) => { calls++; res.writeHead(calls < 3 ? 503 : 200).end(JSON.stringify({ ready: calls >= 3 })) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`
      const { stdout } = await exec(process.execPath, ['-e', script], { env: { READYZ_URL: url, TIMEOUT_SECONDS: '30' } })
      expect(stdout).toContain('ready: ')
      expect(calls).toBe(3)
    } finally {
      server.close()
    }
    await expect(exec(process.execPath, ['-e', script], { env: { READYZ_URL: 'http://127.0.0.1:1/readyz', TIMEOUT_SECONDS: '1' } }))
      .rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('not ready within 1s') as unknown })
  })
})
