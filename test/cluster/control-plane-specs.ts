import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  KWOK_NODE_ANNOTATION_KEY, KWOK_NODE_ANNOTATION_VALUE, KWOK_NODE_LEASE_SECONDS, POD_CIDR, SERVICE_ACCOUNT_ISSUER,
  SERVICE_CLUSTER_IP_RANGE
} from './constants.js'
import { get, healthy } from './probe.js'
import type { ControlPlaneBinaries } from './binaries.js'
import type { ClusterCertificates } from './certs.js'
import type { ComponentSpec } from './component.js'

/** kwok's stages (the kwok binary has none built in). */
export const KWOK_STAGES_FILE = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url))

/** The processes, in start order. */
export const COMPONENT_NAMES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const
export type ComponentName = typeof COMPONENT_NAMES[number]

/** Loopback ports, each free when start() picked it. */
export interface ControlPlanePorts {
  readonly etcdClient: number
  readonly etcdPeer: number
  readonly apiServer: number
  readonly controllerManager: number
  readonly scheduler: number
  readonly kwok: number
}

export interface SpecInput {
  readonly dir: string
  readonly binaries: ControlPlaneBinaries
  readonly certs: ClusterCertificates
  readonly ports: ControlPlanePorts
  readonly kubeconfigPath: string
  readonly controllers: readonly string[]
  readonly apiServerFlags: readonly string[]
}

const LOOPBACK = '127.0.0.1'

/** Command lines, log files and health checks of the five processes. */
export async function componentSpecs (input: SpecInput): Promise<Record<ComponentName, ComponentSpec>> {
  const { dir, binaries, certs, ports, kubeconfigPath } = input
  const log = (name: ComponentName): string => join(dir, `${name}.log`)
  const etcdClientUrl = `http://${LOOPBACK}:${ports.etcdClient}`
  const etcdPeerUrl = `http://${LOOPBACK}:${ports.etcdPeer}`
  const adminTls = {
    ca: await readFile(certs.caCert),
    cert: await readFile(certs.adminCert),
    key: await readFile(certs.adminKey)
  }
  const selfSigned = { insecure: true }
  return {
    etcd: {
      name: 'etcd',
      binary: binaries.etcd,
      args: ['--name=default', `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdClientUrl}`, `--advertise-client-urls=${etcdClientUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`, `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=default=${etcdPeerUrl}`,
        // Test data: no fsync (as envtest). Losing it on a host crash is fine.
        '--unsafe-no-fsync=true'],
      logPath: log('etcd'),
      ready: async () => {
        try {
          const res = await get(`${etcdClientUrl}/health`)
          return res.status === 200 && res.body.includes('"health":"true"')
        } catch {
          return false
        }
      }
    },
    'kube-apiserver': {
      name: 'kube-apiserver',
      binary: binaries.kubeApiserver,
      args: [`--etcd-servers=${etcdClientUrl}`,
        `--bind-address=${LOOPBACK}`, `--secure-port=${ports.apiServer}`,
        // A loopback advertise address is refused by the default (lease) endpoint reconciler;
        // with `none` the `kubernetes` Service simply has no endpoints (no pod calls it here).
        `--advertise-address=${LOOPBACK}`, '--endpoint-reconciler-type=none',
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${certs.servingCert}`, `--tls-private-key-file=${certs.servingKey}`,
        `--client-ca-file=${certs.caCert}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${certs.serviceAccountPub}`,
        `--service-account-signing-key-file=${certs.serviceAccountKey}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        '--authorization-mode=RBAC', '--allow-privileged=true',
        ...input.apiServerFlags],
      logPath: log('kube-apiserver'),
      ready: healthy(`https://${LOOPBACK}:${ports.apiServer}/readyz`, adminTls)
    },
    'kube-controller-manager': {
      name: 'kube-controller-manager',
      binary: binaries.kubeControllerManager,
      args: [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false',
        `--bind-address=${LOOPBACK}`, `--secure-port=${ports.controllerManager}`,
        `--cert-dir=${join(dir, 'controller-manager-certs')}`,
        `--root-ca-file=${certs.caCert}`, `--service-account-private-key-file=${certs.serviceAccountKey}`,
        `--controllers=${input.controllers.join(',')}`,
        // StorageClass provisioner kubernetes.io/host-path (see storage.ts).
        '--enable-hostpath-provisioner=true'],
      logPath: log('kube-controller-manager'),
      ready: healthy(`https://${LOOPBACK}:${ports.controllerManager}/healthz`, selfSigned)
    },
    'kube-scheduler': {
      name: 'kube-scheduler',
      binary: binaries.kubeScheduler,
      args: [`--kubeconfig=${kubeconfigPath}`, '--leader-elect=false',
        `--bind-address=${LOOPBACK}`, `--secure-port=${ports.scheduler}`,
        `--cert-dir=${join(dir, 'scheduler-certs')}`],
      logPath: log('kube-scheduler'),
      ready: healthy(`https://${LOOPBACK}:${ports.scheduler}/readyz`, selfSigned)
    },
    kwok: {
      name: 'kwok',
      binary: binaries.kwok,
      args: [`--kubeconfig=${kubeconfigPath}`, `--config=${KWOK_STAGES_FILE}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION_KEY}=${KWOK_NODE_ANNOTATION_VALUE}`,
        `--cidr=${POD_CIDR}`, `--node-ip=${LOOPBACK}`,
        `--node-lease-duration-seconds=${KWOK_NODE_LEASE_SECONDS}`,
        // Serves /healthz once its controllers run (and exec/logs/port-forward, unused).
        `--server-address=${LOOPBACK}:${ports.kwok}`],
      logPath: log('kwok'),
      ready: healthy(`http://${LOOPBACK}:${ports.kwok}/healthz`)
    }
  }
}
