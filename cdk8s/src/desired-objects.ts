import { App, Chart } from 'cdk8s'
import { FleetWorkload } from './fleet-workload.js'
import type { FleetWorkloadProps } from './fleet-workload.js'

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, [key: string]: unknown }
  [key: string]: unknown
}

/** A fleet's desired objects as plain JSON, in apply order (cdk8s orders by dependencies). */
export function desiredFleetObjects (props: FleetWorkloadProps): KubeObject[] {
  const app = new App()
  const chart = new Chart(app, props.fleet.metadata.name, { disableResourceNameHashes: true })
  new FleetWorkload(chart, 'fleet', props)
  return chart.toJson() as KubeObject[]
}
