import { App, Chart, Testing } from 'cdk8s'
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { AnchorFleetCrd } from '../../cdk8s/src/anchor-fleet-crd.js'
import { eventually } from '../helpers/anchor-process.js'
import type { TestControlPlane } from '../cluster/control-plane.js'
import type { AnchorFleetSpecInput } from '@meganet/contracts'
import type { KubernetesObject } from '@kubernetes/client-node'

/** Installs the AnchorFleet CRD (from the same construct the chart uses) and waits until it is served. */
export async function installCrd (plane: TestControlPlane): Promise<void> {
  const chart = new Chart(new App(), 'crd')
  new AnchorFleetCrd(chart, 'crd')
  // Sent as raw JSON: client-node's typed CRD model drops `x-kubernetes-validations` and `default`.
  const raw = plane.client(CustomObjectsApi)
  for (const object of Testing.synth(chart) as KubernetesObject[]) {
    await raw.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: object })
  }
  const extensions = plane.client(ApiextensionsV1Api)
  await eventually(async () => {
    const crd = await extensions.readCustomResourceDefinition({ name: `${ANCHOR_FLEET.plural}.${ANCHOR_FLEET.group}` })
    return crd.status?.conditions?.some(c => c.type === 'Established' && c.status === 'True') === true ? true : undefined
  }, 20_000, 'CRD established')
}

export interface FleetObject {
  metadata: { name: string, namespace: string, generation?: number, finalizers?: string[], annotations?: Record<string, string> }
  spec: Record<string, unknown> & { replicas?: number }
  status?: {
    observedGeneration?: number
    replicas?: number
    readyReplicas?: number
    phase?: string
    conditions?: Array<{ type: string, status: string, reason: string, message: string }>
    anchors?: Array<{ pod: string, peerId?: string, phase: string, peers?: number, storedBytes?: number }>
    bootstrap?: string[]
    browserAddresses?: string[]
    peering?: Array<{ bootstrapUrl: string, verified: boolean, anchorsConnected: number, peeredAnchors?: number, lastError?: string }>
  }
}

export function fleets (plane: TestControlPlane) {
  const custom = plane.client(CustomObjectsApi)
  const base = { group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, plural: ANCHOR_FLEET.plural }
  return {
    async create (namespace: string, name: string, spec: AnchorFleetSpecInput, annotations?: Record<string, string>): Promise<FleetObject> {
      return await custom.createNamespacedCustomObject({
        ...base, namespace,
        body: { apiVersion: ANCHOR_FLEET.apiVersion, kind: ANCHOR_FLEET.kind, metadata: { name, ...(annotations != null ? { annotations } : {}) }, spec }
      }) as FleetObject
    },
    async get (namespace: string, name: string): Promise<FleetObject> {
      return await custom.getNamespacedCustomObject({ ...base, namespace, name }) as FleetObject
    },
    async patch (namespace: string, name: string, patch: unknown[]): Promise<void> {
      await custom.patchNamespacedCustomObject({ ...base, namespace, name, body: patch })
    },
    async scale (namespace: string, name: string, replicas: number): Promise<void> {
      await custom.patchNamespacedCustomObjectScale({ ...base, namespace, name, body: [{ op: 'replace', path: '/spec/replicas', value: replicas }] })
    },
    async readScale (namespace: string, name: string): Promise<{ spec: { replicas: number }, status: { replicas: number, selector?: string } }> {
      return await custom.getNamespacedCustomObjectScale({ ...base, namespace, name }) as { spec: { replicas: number }, status: { replicas: number, selector?: string } }
    },
    async delete (namespace: string, name: string): Promise<void> {
      await custom.deleteNamespacedCustomObject({ ...base, namespace, name })
    }
  }
}
