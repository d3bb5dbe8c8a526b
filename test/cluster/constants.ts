/** Defaults of the test control plane, in one place: tests import these instead of repeating them. */

/** How long start() waits for each component to answer its health check. */
export const DEFAULT_START_TIMEOUT_MS = 90_000

/** How long stop() gives a component after SIGTERM before it sends SIGKILL. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000

/**
 * Grace of kube-apiserver on stopApiServer()/restartApiServer() before SIGKILL. It stops
 * listening at once on SIGTERM, but then waits for open watch streams (up to --request-timeout,
 * 60 s) that its clients keep open; the kill is what finally drops them, as a crash would.
 */
export const DEFAULT_API_SERVER_STOP_GRACE_MS = 2_000

/** Lines of a component's log quoted in a start error. */
export const LOG_TAIL_LINES = 40

/** Poll interval of the health checks and of the node/volume waits. */
export const POLL_INTERVAL_MS = 100

/** `MEGANET_KEEP_CLUSTER=1` keeps the temp dir (certs, kubeconfig, logs, etcd data) after stop(). */
export const KEEP_CLUSTER_ENV = 'MEGANET_KEEP_CLUSTER'

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24'
/** The ClusterIP of the `kubernetes` Service: the first address of the range. */
export const KUBERNETES_SERVICE_IP = '10.0.0.1'
/** kwok hands pod IPs out of this range. */
export const POD_CIDR = '10.244.0.0/16'
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local'

/**
 * Controllers the controller-manager runs (1.37 names; the short pre-1.28 names are aliases).
 * node-lifecycle is needed: the TaintNodesByCondition admission plugin creates every Node with
 * the node.kubernetes.io/not-ready:NoSchedule taint, and only this controller lifts it once kwok
 * reports the node Ready (it taints nodes whose kwok Lease is 50 s stale, as for real kubelets).
 * Left out on purpose: taint-eviction (no pod is evicted from a NotReady node, so a test decides
 * what happens to them), node-ipam (kwok assigns pod IPs), the CSR, bootstrap-token and cloud
 * controllers, horizontal-pod-autoscaler (no metrics server), resourcequota.
 */
export const DEFAULT_CONTROLLERS = [
  'statefulset-controller',
  'replicaset-controller',
  'deployment-controller',
  'daemonset-controller',
  'job-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'disruption-controller',
  'pod-garbage-collector-controller',
  'node-lifecycle-controller',
  // PVCs: bind (and, with --enable-hostpath-provisioner, provision) volumes; release the
  // kubernetes.io/pvc-protection and pv-protection finalizers the admission plugin adds.
  'persistentvolume-binder-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller'
] as const

/** Fake nodes carry this annotation; kwok manages exactly the nodes that match it. */
export const KWOK_NODE_ANNOTATION_KEY = 'kwok.x-k8s.io/node'
export const KWOK_NODE_ANNOTATION_VALUE = 'fake'

/** The optional taint of fake nodes (`createFakeNodes(n, { taint: true })`) and its toleration. */
export const FAKE_NODE_TAINT = { key: KWOK_NODE_ANNOTATION_KEY, value: KWOK_NODE_ANNOTATION_VALUE, effect: 'NoSchedule' } as const
export const FAKE_NODE_TOLERATION = { key: KWOK_NODE_ANNOTATION_KEY, operator: 'Equal', value: KWOK_NODE_ANNOTATION_VALUE, effect: 'NoSchedule' } as const

/** What one fake node offers the scheduler, unless createFakeNodes is told otherwise. */
export const DEFAULT_NODE_ALLOCATABLE = { cpu: '32', memory: '256Gi', pods: '110' } as const

export const DEFAULT_FAKE_NODE_PREFIX = 'kwok-node-'

/**
 * The default StorageClass: in-tree hostPath provisioner (the controller-manager runs with
 * --enable-hostpath-provisioner), bound at once, deleted with its claim.
 */
export const TEST_STORAGE_CLASS = 'meganet-test'
export const HOSTPATH_PROVISIONER = 'kubernetes.io/host-path'
/** Where that provisioner makes a directory per volume (hard-coded in Kubernetes). */
export const HOSTPATH_PV_ROOT = '/tmp/hostpath_pv/'

/** kwok renews a Lease per fake node, like a kubelet; status heartbeats then come every ~10 min. */
export const KWOK_NODE_LEASE_SECONDS = 40
