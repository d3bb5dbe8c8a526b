import { ApiObject } from 'cdk8s'
import { Construct } from 'constructs'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { OPERATOR_APP, standardLabels } from './labels.js'

export interface OperatorRbacProps {
  readonly namespace: string
  readonly instance: string
  readonly serviceAccountName: string
}

/**
 * Least privilege for the operator: its own resource (with status, scale and finalizers), the
 * objects a fleet runs on, pods and PVCs to read, events to write, and leases in its own
 * namespace for leader election. No secrets: anchors mount NATS credentials themselves.
 */
export class OperatorRbac extends Construct {
  constructor (scope: Construct, id: string, props: OperatorRbacProps) {
    super(scope, id)
    const labels = standardLabels(OPERATOR_APP, props.instance, 'operator')
    const name = `${props.instance}-operator`
    const manage = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']
    new ApiObject(this, 'service-account', {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: props.serviceAccountName, namespace: props.namespace, labels }
    })
    new ApiObject(this, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels },
      rules: [
        { apiGroups: [ANCHOR_FLEET.group], resources: [ANCHOR_FLEET.plural], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
        { apiGroups: [ANCHOR_FLEET.group], resources: [`${ANCHOR_FLEET.plural}/status`, `${ANCHOR_FLEET.plural}/scale`], verbs: ['get', 'update', 'patch'] },
        { apiGroups: [ANCHOR_FLEET.group], resources: [`${ANCHOR_FLEET.plural}/finalizers`], verbs: ['update'] },
        { apiGroups: ['apps'], resources: ['statefulsets'], verbs: manage },
        { apiGroups: [''], resources: ['services', 'configmaps', 'serviceaccounts'], verbs: manage },
        { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: manage },
        { apiGroups: [''], resources: ['pods', 'persistentvolumeclaims'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] }
      ]
    })
    new ApiObject(this, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: props.serviceAccountName, namespace: props.namespace }]
    })
    new ApiObject(this, 'leader-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `${name}-leader-election`, namespace: props.namespace, labels },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] }]
    })
    new ApiObject(this, 'leader-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${name}-leader-election`, namespace: props.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-leader-election` },
      subjects: [{ kind: 'ServiceAccount', name: props.serviceAccountName, namespace: props.namespace }]
    })
  }
}
