import type { RenderedObject } from './helm.js'
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node'

/** Kinds the chart renders that client-node has no model for. */
export interface MonitorObject extends RenderedObject {
  spec: {
    selector: { matchLabels: Record<string, string> }
    namespaceSelector?: Record<string, unknown>
    endpoints?: Array<Record<string, unknown>>
    podMetricsEndpoints?: Array<Record<string, unknown>>
  }
}

export interface PrometheusRuleObject extends RenderedObject {
  spec: { groups: unknown[] }
}

export interface FleetManifest extends RenderedObject {
  spec: Record<string, unknown> & { nats?: { url: string } }
}

/** The default fleet the chart renders into its `<fullname>-default-fleet` ConfigMap for the operator to apply. */
export function defaultFleetOf (objects: readonly RenderedObject[]): FleetManifest {
  const map: (RenderedObject & { data?: Record<string, string> }) | undefined = objects.find(o => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-default-fleet'))
  const json = map?.data?.['fleet.json']
  if (json == null) throw new Error('the chart rendered no default-fleet ConfigMap with a fleet.json')
  return JSON.parse(json) as FleetManifest
}

export interface DashboardMap extends RenderedObject {
  data: Record<string, string>
}

/** The container of a workload (Deployment, StatefulSet: their pod template) by name, else the first. */
export function containerOf (workload: { spec?: { template: V1PodTemplateSpec } }, name?: string): V1Container {
  const containers = workload.spec?.template.spec?.containers ?? []
  const found = name == null ? containers[0] : containers.find(c => c.name === name)
  if (found == null) throw new Error(`no container ${name ?? ''}`)
  return found
}

/** A container's plain env values by name. */
export function envOf (container: V1Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map(e => [e.name, e.value]))
}

/** `helm template` flags saying that the cluster serves the Prometheus Operator's kinds. */
export const WITH_MONITORING_APIS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].flatMap(kind => ['--api-versions', `monitoring.coreos.com/v1/${kind}`])

export const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }
