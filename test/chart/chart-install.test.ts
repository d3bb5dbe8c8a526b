import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { TestControlPlane } from '../cluster/control-plane.js'
import { eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { fleets } from '../operator/kube-fixtures.js'
import { OperatorProcess } from '../operator/operator-process.js'
import { CHART_DIR, Helm } from './helm.js'
import { WITH_MONITORING_APIS, defaultFleetOf } from './manifests.js'
import { RawKube } from './raw-kube.js'
import type { RenderedObject } from './helm.js'

const NS = 'meganet'
const IMAGE = 'ghcr.io/meganet/meganet:0.1.0'
const CRD_NAME = `${ANCHOR_FLEET.plural}.${ANCHOR_FLEET.group}`

/** A kubeconfig that authenticates as a ServiceAccount, with a short-lived token from the TokenRequest API. */
async function serviceAccountKubeconfig (plane: TestControlPlane, namespace: string, name: string, path: string): Promise<string> {
  const token = await plane.client(CoreV1Api).createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } })
  const config = new KubeConfig()
  config.loadFromOptions({
    clusters: [{ name: 'plane', server: plane.server, caFile: plane.certificates.caCert, skipTLSVerify: false }],
    users: [{ name, token: token.status?.token }],
    contexts: [{ name, cluster: 'plane', user: name, namespace }],
    currentContext: name
  })
  await writeFile(path, config.exportConfig())
  return path
}

/**
 * Stand-ins for the Prometheus Operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule) with
 * an open spec: the cluster then serves monitoring.coreos.com/v1, so helm renders the monitoring
 * objects and the API server checks their metadata. Their specs are pinned by chart.test.ts, not
 * checked against the real CRD schemas (not shipped here).
 */
async function installStandInMonitoringCrds (plane: TestControlPlane, raw: RawKube): Promise<void> {
  const kinds = [['ServiceMonitor', 'servicemonitors'], ['PodMonitor', 'podmonitors'], ['PrometheusRule', 'prometheusrules']] as const
  for (const [kind, plural] of kinds) {
    const crd: RenderedObject = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.monitoring.coreos.com` },
      spec: {
        group: 'monitoring.coreos.com', scope: 'Namespaced',
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }]
      }
    }
    await raw.create(crd, '')
  }
  const extensions = plane.client(ApiextensionsV1Api)
  await eventually(async () => {
    const established = await Promise.all(kinds.map(async ([, plural]) => (await extensions.readCustomResourceDefinition({ name: `${plural}.monitoring.coreos.com` }))
      .status?.conditions?.some(c => c.type === 'Established' && c.status === 'True') === true))
    return established.every(Boolean) ? true : undefined
  }, 20_000, 'stand-in monitoring CRDs established')
  raw.forget()
}

describe('charts/meganet on a real control plane', () => {
  let plane: TestControlPlane
  let helm: Helm
  let nats: TestNats
  let raw: RawKube
  let operator: OperatorProcess | undefined
  let dir: string | undefined
  const kube = (): string[] => ['--kubeconfig', plane.kubeconfigPath]
  // The operator runs here on loopback, so the fleet uses a NATS on loopback too.
  const external = (): string[] => ['--set', 'nats.enabled=false', '--set', `nats.external.url=${nats.url}`]

  const defaultFleetFile = (): string => join(dir ?? '', 'default-fleet.json')
  /** What the kubelet does for the operator's pod: the chart's default-fleet ConfigMap, as a file. */
  const mountDefaultFleet = async (): Promise<void> => {
    const map = await plane.client(CoreV1Api).readNamespacedConfigMap({ name: 'mn-meganet-default-fleet', namespace: NS })
    await writeFile(defaultFleetFile(), map.data?.['fleet.json'] ?? '')
  }

  beforeAll(async () => {
    ;[plane, helm, nats] = await Promise.all([TestControlPlane.start(), Helm.create(), TestNats.start()])
    dir = await mkdtemp(join(tmpdir(), 'meganet-chart-install-'))
    raw = new RawKube(plane.kubeConfig)
    await plane.createFakeNodes(3)
    await plane.createNamespace(NS, { 'pod-security.kubernetes.io/enforce': 'restricted' })
  }, 300_000)

  afterAll(async () => {
    await operator?.stop('SIGKILL')
    await nats?.cleanup()
    await helm?.cleanup()
    await plane?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('has every rendered object accepted by the API server: server-side dry run, strict fields, restricted Pod Security', { timeout: 180_000 }, async () => {
    // The namespace enforces the restricted Pod Security Standard; a pod without it is refused.
    await expect(raw.dryRunCreate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lax' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }, NS))
      .rejects.toThrow(/violates PodSecurity "restricted/)
    await installStandInMonitoringCrds(plane, raw)
    const variants = [[], ['--set', 'networkPolicy.enabled=true', '--set', 'nats.external.credentialsSecret.name=nats-creds', ...external()],
      ['--set', 'networkPolicy.enabled=true', '--set', 'operator.replicas=1', '--set', 'crds.keep=false', '--set', 'defaultFleet.enabled=false']]
    let checked = 0
    for (const values of variants) {
      const objects = await helm.template([...WITH_MONITORING_APIS, ...values], { namespace: NS })
      for (const object of objects) {
        raw.warnings.length = 0
        const accepted = await raw.dryRunCreate(object, NS).catch((err: unknown) => { throw new Error(`${object.kind}/${object.metadata.name}: ${(err as Error).message}`) })
        expect(accepted.metadata.name).toBe(object.metadata.name)
        // Workload templates that would break the namespace's Pod Security come back as warnings.
        expect(raw.warnings, `${object.kind}/${object.metadata.name}`).toEqual([])
        checked++
      }
    }
    expect(checked).toBeGreaterThan(40)
  })

  it('installs with one command, and the operator (as the chart\'s ServiceAccount) brings the default fleet to Ready', { timeout: 180_000 }, async () => {
    const began = performance.now()
    const out = await helm.run(['install', 'mn', CHART_DIR, '--namespace', NS, ...kube(), ...external()])
    console.log(`helm install took ${Math.round(performance.now() - began)} ms`)
    expect(out).toContain('STATUS: deployed')
    expect(out).toContain(`kubectl -n ${NS} port-forward svc/meganet-anchors 9464:9464`)
    expect(out).toContain(`kubectl -n ${NS} get anchorfleet meganet -o jsonpath='{.status.bootstrap}'`)

    const crd = await plane.client(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME })
    expect(crd.status?.conditions?.find(c => c.type === 'Established')?.status).toBe('True')
    const deployment = await plane.client(AppsV1Api).readNamespacedDeployment({ name: 'mn-meganet-operator', namespace: NS })
    expect(deployment.spec?.replicas).toBe(2)
    // The cluster serves monitoring.coreos.com/v1 (the stand-in CRDs): helm saw it and rendered them.
    const monitors = await raw.request<{ items: unknown[] }>('GET', `/apis/monitoring.coreos.com/v1/namespaces/${NS}/servicemonitors`)
    expect(monitors.items).toHaveLength(1)
    // The ReplicaSet made the operator's pods, so they pass the namespace's restricted Pod Security.
    const pods = await eventually(async () => {
      const list = await plane.client(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/instance=mn' })
      return list.items.filter(p => p.status?.phase === 'Running').length === 2 ? list.items : undefined
    }, 30_000, 'two operator pods Running')
    expect(pods.map(p => p.metadata?.labels?.['app.kubernetes.io/name'])).toEqual(['meganet-operator', 'meganet-operator'])

    // Every variant of the fleet the chart can render is valid for the CRD.
    const variants = await helm.template(['--set', 'defaultFleet.name=variant', '--set', 'defaultFleet.autoscaling.enabled=true', '--set', 'defaultFleet.roles={relay,bootstrap}',
      '--set', 'defaultFleet.exposure.type=LoadBalancer', '--set', 'defaultFleet.exposure.annotations.a=b', '--set', 'defaultFleet.relay.maxReservationsPerIp=8',
      '--set', 'defaultFleet.relay.circuitDataLimit=128MiB', '--set', 'defaultFleet.storage.storageClassName=fast', '--set', 'defaultFleet.resources.requests.cpu=500m',
      '--set', 'defaultFleet.image=meganet:next', '--set', 'nats.external.credentialsSecret.name=creds', ...external()], { namespace: NS })
    raw.forget()
    await raw.dryRunCreate(defaultFleetOf(variants), NS)

    // No fleet until the operator applies the one the chart rendered for it.
    await expect(fleets(plane).get(NS, 'meganet')).rejects.toThrow()
    // The operator runs with the token of the chart's ServiceAccount: the chart's RBAC is all it
    // has; its default-fleet file is the chart's ConfigMap, as the pod would mount it.
    await mountDefaultFleet()
    const kubeconfig = await serviceAccountKubeconfig(plane, NS, 'mn-meganet-operator', join(dir ?? '', 'operator.kubeconfig'))
    operator = await OperatorProcess.start(kubeconfig, 'mn-meganet-operator-test', {
      namespace: NS, image: IMAGE, 'lease-name': 'mn-meganet-operator', 'default-fleet-file': defaultFleetFile()
    })
    const created = await eventually(async () => await fleets(plane).get(NS, 'meganet').catch(() => undefined), 30_000, 'the default fleet created by the operator')
    expect(created.spec).toMatchObject({ replicas: 3, nats: { url: nats.url } })
    const ready = await eventually(async () => {
      const fleet = await fleets(plane).get(NS, 'meganet')
      const condition = fleet.status?.conditions?.find(c => c.type === 'Ready')
      return condition?.status === 'True' && fleet.status?.observedGeneration === fleet.metadata.generation ? fleet : undefined
    }, 90_000, 'the default fleet Ready')
    // No anchor runs behind kwok's pods, so none creates the fleet's KV bucket in NATS: the
    // operator may add Degraded ("cannot reach NATS") to the phase; Ready counts the pods.
    expect(ready.status).toMatchObject({ replicas: 3, readyReplicas: 3 })
    expect(operator.logs.some(l => l.includes('"connected to NATS"'))).toBe(true)
    expect(operator.logs.filter(l => l.includes('forbidden'))).toEqual([])
    const sts = await plane.client(AppsV1Api).readNamespacedStatefulSet({ name: 'meganet-anchor', namespace: NS })
    expect(sts.spec?.template.spec?.containers[0]?.image).toBe(IMAGE)
  })

  it('applies changed fleet values on helm upgrade, and leaves the size to its owner', { timeout: 120_000 }, async () => {
    await fleets(plane).scale(NS, 'meganet', 4)
    const out = await helm.run(['upgrade', 'mn', CHART_DIR, '--namespace', NS, ...kube(), ...external(), '--set', 'defaultFleet.replicas=5',
      '--set', 'defaultFleet.relay.maxReservationsPerIp=16', '--set', 'operator.logLevel=debug'])
    expect(out).toContain('STATUS: deployed')
    await mountDefaultFleet()
    const upgraded = await eventually(async () => {
      const fleet = await fleets(plane).get(NS, 'meganet')
      return (fleet.spec.relay as { maxReservationsPerIp?: number } | undefined)?.maxReservationsPerIp === 16 ? fleet : undefined
    }, 30_000, 'the new relay limit applied to the fleet')
    expect(upgraded.spec.replicas).toBe(4)
    // Values taken out again are taken out of the fleet (the chart's field manager owned them).
    await helm.run(['upgrade', 'mn', CHART_DIR, '--namespace', NS, ...kube(), ...external(), '--set', 'operator.logLevel=debug'])
    await mountDefaultFleet()
    await eventually(async () => (await fleets(plane).get(NS, 'meganet')).spec.relay == null ? true : undefined, 30_000, 'the relay limit removed again')
    expect((await fleets(plane).get(NS, 'meganet')).spec.replicas).toBe(4)
    const deployment = await plane.client(AppsV1Api).readNamespacedDeployment({ name: 'mn-meganet-operator', namespace: NS })
    expect(deployment.spec?.template.spec?.containers[0]?.env?.find(e => e.name === 'MEGANET_OPERATOR_LOG_LEVEL')?.value).toBe('debug')
  })

  it('keeps the CRD and the fleet on helm uninstall (crds.keep)', { timeout: 120_000 }, async () => {
    await operator?.stop()
    const out = await helm.run(['uninstall', 'mn', '--namespace', NS, ...kube(), '--wait'])
    expect(out).toContain('uninstalled')
    expect(out).toMatch(/kept due to the resource policy[\s\S]*anchorfleets\.meganet\.io/)
    const crd = await plane.client(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME })
    expect(crd.metadata?.name).toBe(CRD_NAME)
    expect((await fleets(plane).get(NS, 'meganet')).metadata.name).toBe('meganet')
    await expect(plane.client(AppsV1Api).readNamespacedDeployment({ name: 'mn-meganet-operator', namespace: NS })).rejects.toThrow()
    const left = await plane.client(CoreV1Api).listNamespacedService({ namespace: NS, labelSelector: 'app.kubernetes.io/instance=mn' })
    expect(left.items).toEqual([])

    // Installing again adopts the kept CRD and leaves the existing fleet as it is.
    const again = await helm.run(['install', 'mn', CHART_DIR, '--namespace', NS, ...kube(), ...external()])
    expect(again).toContain('STATUS: deployed')
    expect((await fleets(plane).get(NS, 'meganet')).spec.replicas).toBe(4)
  })
})
