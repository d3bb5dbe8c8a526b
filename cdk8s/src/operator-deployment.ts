import { ApiObject } from 'cdk8s'
import { OPERATOR_APP, selectorLabels, standardLabels } from './labels.js'
import { RESTRICTED_CONTAINER_SECURITY, RESTRICTED_POD_SECURITY } from './security.js'
import type { Construct } from 'constructs'

export const OPERATOR_PORTS = { health: 8080, metrics: 9465 } as const

export interface OperatorDeploymentProps {
  readonly namespace: string
  readonly instance: string
  readonly image: string
  readonly serviceAccountName: string
  /** Two by default: leader election makes the second a hot standby. */
  readonly replicas?: number
  readonly resources?: Record<string, unknown>
}

/** The operator's Deployment: restricted pod security, probes, metrics port. */
export class OperatorDeployment extends ApiObject {
  constructor (scope: Construct, id: string, props: OperatorDeploymentProps) {
    const labels = standardLabels(OPERATOR_APP, props.instance, 'operator')
    const selector = selectorLabels(OPERATOR_APP, props.instance)
    super(scope, id, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${props.instance}-operator`, namespace: props.namespace, labels },
      spec: {
        replicas: props.replicas ?? 2,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: props.serviceAccountName,
            securityContext: RESTRICTED_POD_SECURITY,
            containers: [{
              name: 'operator',
              image: props.image,
              command: ['node', '/app/operator/dist/main.js'],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'MEGANET_OPERATOR_IMAGE', value: props.image }
              ],
              ports: [
                { name: 'health', containerPort: OPERATOR_PORTS.health },
                { name: 'metrics', containerPort: OPERATOR_PORTS.metrics }
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 10 },
              ...(props.resources != null ? { resources: props.resources } : {}),
              securityContext: RESTRICTED_CONTAINER_SECURITY
            }]
          }
        }
      }
    })
  }
}
