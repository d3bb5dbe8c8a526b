import { ApiObject } from 'cdk8s'
import { Construct } from 'constructs'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { OPERATOR_APP, standardLabels } from './labels.js'

export interface OperatorRbacProps {
  readonly namespace: string
  readonly instance: string
  readonly serviceAccountName: string
  /** Reconcile fleets only in these namespaces, with a Role in each instead of the ClusterRole. @default every namespace */
  readonly watchNamespaces?: readonly string[]
  /** The ConfigMap of a NATS's auth config that the operator writes (--nats-auth-config-map), in its own namespace. */
  readonly natsAuthConfigMap?: string
}

const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']

/** What the operator does to fleets and the objects they run on, in a namespace (or all). */
export const FLEET_RULES = [
  // create: the chart's default fleet, which the operator applies (operator/src/reconcile/default-fleet.ts).
  { apiGroups: [ANCHOR_FLEET.group], resources: [ANCHOR_FLEET.plural], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
  { apiGroups: [ANCHOR_FLEET.group], resources: [`${ANCHOR_FLEET.plural}/status`, `${ANCHOR_FLEET.plural}/scale`], verbs: ['get', 'update', 'patch'] },
  { apiGroups: [ANCHOR_FLEET.group], resources: [`${ANCHOR_FLEET.plural}/finalizers`], verbs: ['update'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: MANAGE },
  { apiGroups: [''], resources: ['services', 'configmaps', 'serviceaccounts'], verbs: MANAGE },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: MANAGE },
  // patch: the one NATS key an anchor pod may log in with is recorded on it (nats-auth/pod-identity.ts).
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'update', 'patch'] }
]

/** Cluster-scoped reads: the node an anchor runs on gives its NodePort/HostPort announce address. */
export const NODE_RULES = [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]

/**
 * Least privilege for the operator: its own resource (with status, scale and finalizers), the
 * objects a fleet runs on, pods and PVCs to read (pods also to annotate), events to write, and
 * leases in its own namespace for leader election (and the NATS auth config it writes). No
 * secrets: anchors mount NATS credentials themselves.
 */
export class OperatorRbac extends Construct {
  constructor (scope: Construct, id: string, props: OperatorRbacProps) {
    super(scope, id)
    const labels = standardLabels(OPERATOR_APP, props.instance, 'operator')
    const name = `${props.instance}-operator`
    const subjects = [{ kind: 'ServiceAccount', name: props.serviceAccountName, namespace: props.namespace }]
    const namespaces = props.watchNamespaces ?? []
    new ApiObject(this, 'service-account', {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: props.serviceAccountName, namespace: props.namespace, labels }
    })
    // Every namespace: one ClusterRole. Listed namespaces: a Role in each, and a ClusterRole for nodes only.
    const clusterRole = namespaces.length === 0 ? name : `${name}-nodes`
    new ApiObject(this, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: clusterRole, labels },
      rules: namespaces.length === 0 ? [...FLEET_RULES, ...NODE_RULES] : NODE_RULES
    })
    new ApiObject(this, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: clusterRole, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
      subjects
    })
    for (const namespace of namespaces) {
      new ApiObject(this, `role-${namespace}`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace, labels }, rules: FLEET_RULES
      })
      new ApiObject(this, `role-binding-${namespace}`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects
      })
    }
    new ApiObject(this, 'leader-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `${name}-leader-election`, namespace: props.namespace, labels },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
        // The auth config of a NATS whose logins it decides: that one ConfigMap (create cannot be limited by name).
        ...(props.natsAuthConfigMap != null
          ? [
              { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
              { apiGroups: [''], resources: ['configmaps'], resourceNames: [props.natsAuthConfigMap], verbs: ['get', 'update', 'patch'] }
            ]
          : [])
      ]
    })
    new ApiObject(this, 'leader-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${name}-leader-election`, namespace: props.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-leader-election` },
      subjects
    })
  }
}
