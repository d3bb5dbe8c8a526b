import { createHash } from 'node:crypto'
import { ApiObject } from 'cdk8s'
import { Construct } from 'constructs'
import { ANCHOR_FLEET, DEFAULT_TOPOLOGY_SPREAD, anchorNodeOptions } from '@meganet/contracts'
import { ANCHOR_PORTS, ANNOUNCE_DIR, CONFIG_DIR, DATA_DIR, NATS_CA_DIR, NATS_CREDS_DIR, WSS_DIR, anchorConfig, peerPorts } from './anchor-config.js'
import { announceConfigMapName } from './announce-addresses.js'
import { ANCHOR_APP, selectorLabels, standardLabels } from './labels.js'
import { RESTRICTED_CONTAINER_SECURITY, RESTRICTED_POD_SECURITY } from './security.js'
import type { AnchorFleet, AnchorFleetSpec } from '@meganet/contracts'

export interface FleetWorkloadProps {
  readonly fleet: AnchorFleet
  /** Image when the fleet names none: the operator's own. */
  readonly defaultImage: string
  /** StatefulSet replicas; the operator lowers it only after a drain. */
  readonly replicas: number
  readonly version?: string
  /** PeerIds of the operator keys whose signed commands the anchors obey. */
  readonly operatorKeys?: readonly string[]
}

/** Pod annotation with a hash of the anchor config, so a config change rolls the StatefulSet. */
export const CONFIG_HASH_ANNOTATION = 'meganet.io/config-hash'

/** Stable names of a fleet's objects. */
export function fleetNames (fleet: string) {
  return {
    statefulSet: `${fleet}-anchor`,
    headless: `${fleet}-anchors`,
    config: `${fleet}-anchor-config`,
    serviceAccount: `${fleet}-anchor`,
    pdb: `${fleet}-anchor`,
    pod: (ordinal: number) => `${fleet}-anchor-${ordinal}`,
    anchorService: (ordinal: number) => `${fleet}-anchor-${ordinal}`
  }
}

/**
 * Everything one AnchorFleet runs on: ServiceAccount, ConfigMap, headless Service, StatefulSet
 * with a volume per anchor, one Service per anchor (stable bootstrap addresses), and a PDB
 * allowing one anchor down at a time. Each object is owned by the fleet, so deleting the fleet
 * collects them.
 */
export class FleetWorkload extends Construct {
  constructor (scope: Construct, id: string, props: FleetWorkloadProps) {
    super(scope, id)
    const { fleet } = props
    const name = fleet.metadata.name
    const namespace = fleet.metadata.namespace
    const spec = fleet.spec
    const names = fleetNames(name)
    const labels = standardLabels(ANCHOR_APP, name, 'anchor', props.version)
    const selector = selectorLabels(ANCHOR_APP, name)
    const ownerReferences = fleet.metadata.uid == null
      ? []
      : [{ apiVersion: ANCHOR_FLEET.apiVersion, kind: ANCHOR_FLEET.kind, name, uid: fleet.metadata.uid, controller: true, blockOwnerDeletion: true }]
    const metadata = (objectName: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
      ({ name: objectName, namespace, labels, ...(ownerReferences.length > 0 ? { ownerReferences } : {}), ...extra })
    const hostPorts = spec.exposure.type === 'HostPort'
    // Outside the cluster, peers need the addresses the operator works out (announce-addresses.ts).
    const announce = spec.exposure.type !== 'ClusterIP'
    const spread = (spec.topologySpreadConstraints ?? DEFAULT_TOPOLOGY_SPREAD).map(c => ({ labelSelector: { matchLabels: selector }, ...c }))

    new ApiObject(this, 'service-account', {
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(names.serviceAccount), automountServiceAccountToken: false
    })
    const configText = JSON.stringify(anchorConfig(name, spec, props.operatorKeys ?? []), null, 2)
    new ApiObject(this, 'config', {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(names.config),
      data: { 'anchor.json': configText }
    })
    const peer = peerPorts(spec)
    const ports = peer.map(p => ({ name: p.name, port: p.port, targetPort: p.name, protocol: p.protocol }))
    new ApiObject(this, 'headless', {
      apiVersion: 'v1', kind: 'Service', metadata: metadata(names.headless),
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector, ports: [...ports, { name: 'http', port: ANCHOR_PORTS.http, targetPort: 'http', protocol: 'TCP' }] }
    })
    new ApiObject(this, 'statefulset', {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: metadata(names.statefulSet),
      spec: {
        replicas: props.replicas,
        serviceName: names.headless,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels: { ...spec.podLabels, ...labels },
            annotations: {
              ...spec.podAnnotations,
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(ANCHOR_PORTS.http),
              // A new config (relay limits, storage) rolls the anchors one at a time: they read it only at start.
              [CONFIG_HASH_ANNOTATION]: createHash('sha256').update(configText).digest('hex').slice(0, 16)
            }
          },
          spec: {
            serviceAccountName: names.serviceAccount,
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 30,
            securityContext: RESTRICTED_POD_SECURITY,
            ...(spec.imagePullSecrets != null ? { imagePullSecrets: spec.imagePullSecrets } : {}),
            ...(spec.priorityClassName != null ? { priorityClassName: spec.priorityClassName } : {}),
            ...(spec.nodeSelector != null ? { nodeSelector: spec.nodeSelector } : {}),
            ...(spec.tolerations != null ? { tolerations: spec.tolerations } : {}),
            ...(spec.affinity != null ? { affinity: spec.affinity } : {}),
            ...(spread.length > 0 ? { topologySpreadConstraints: spread } : {}),
            containers: [{
              name: 'anchor',
              image: spec.image ?? props.defaultImage,
              args: ['anchor', '--config', `${CONFIG_DIR}/anchor.json`],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                ...(announce ? [{ name: 'MEGANET_ANNOUNCE_FILE', value: `${ANNOUNCE_DIR}/$(POD_NAME)` }] : []),
                // Size V8 to the container, or it takes a quarter of the limit and dies of heap long before the pod is full.
                ...(spec.resources.limits?.memory != null ? [{ name: 'NODE_OPTIONS', value: anchorNodeOptions('container') }] : []),
                ...(spec.extraEnv ?? [])
              ],
              ports: [
                ...peer.map(p => ({ name: p.name, containerPort: p.port, protocol: p.protocol, ...(hostPorts ? { hostPort: p.port } : {}) })),
                { name: 'http', containerPort: ANCHOR_PORTS.http, protocol: 'TCP' }
              ],
              // Waiting for its announce addresses (a new load balancer) or opening a large store takes a while.
              startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5, failureThreshold: 60 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
              resources: spec.resources,
              securityContext: RESTRICTED_CONTAINER_SECURITY,
              volumeMounts: [
                { name: 'data', mountPath: DATA_DIR },
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                ...(spec.nats?.credentialsSecret != null ? [{ name: 'nats-creds', mountPath: NATS_CREDS_DIR, readOnly: true }] : []),
                ...(spec.nats?.tls != null ? [{ name: 'nats-ca', mountPath: NATS_CA_DIR, readOnly: true }] : []),
                ...(spec.browser.wssSecretName != null ? [{ name: 'wss', mountPath: WSS_DIR, readOnly: true }] : []),
                ...(announce ? [{ name: 'announce', mountPath: ANNOUNCE_DIR, readOnly: true }] : []),
                ...(spec.extraVolumeMounts ?? [])
              ]
            }],
            volumes: [
              { name: 'config', configMap: { name: names.config } },
              ...(spec.nats?.credentialsSecret != null ? [{ name: 'nats-creds', secret: { secretName: spec.nats.credentialsSecret.name } }] : []),
              ...natsCaVolume(spec.nats?.tls),
              // The anchor re-reads the files (a renewed certificate) without a restart.
              ...(spec.browser.wssSecretName != null ? [{ name: 'wss', secret: { secretName: spec.browser.wssSecretName } }] : []),
              // Written by the operator as it learns each anchor's node and Service; optional, so a pod can start before it exists.
              ...(announce ? [{ name: 'announce', configMap: { name: announceConfigMapName(name), optional: true } }] : []),
              ...(spec.extraVolumes ?? [])
            ]
          }
        },
        volumeClaimTemplates: [{
          metadata: { name: 'data', labels: selector },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: spec.storage.size } },
            ...(spec.storage.storageClassName != null ? { storageClassName: spec.storage.storageClassName } : {})
          }
        }]
      }
    })
    if (!hostPorts) {
      for (let ordinal = 0; ordinal < props.replicas; ordinal++) {
        new ApiObject(this, `anchor-service-${ordinal}`, {
          apiVersion: 'v1', kind: 'Service',
          metadata: metadata(names.anchorService(ordinal), spec.exposure.annotations != null ? { annotations: spec.exposure.annotations } : {}),
          spec: {
            type: spec.exposure.type,
            selector: { ...selector, 'statefulset.kubernetes.io/pod-name': names.pod(ordinal) },
            ports,
            // An anchor becomes Ready once it reaches the other anchors, through these very
            // Services (its announce addresses): routing only to Ready pods would never let it.
            publishNotReadyAddresses: true,
            ...(spec.exposure.type === 'ClusterIP' ? {} : { externalTrafficPolicy: 'Local' })
          }
        })
      }
    }
    new ApiObject(this, 'pdb', {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: metadata(names.pdb),
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } }
    })
  }
}

/** The volume holding the CA that verifies NATS: only its one key, even from a Secret that holds more. */
function natsCaVolume (tls: NonNullable<AnchorFleetSpec['nats']>['tls']): Array<Record<string, unknown>> {
  const items = (key: string): Array<{ key: string, path: string }> => [{ key, path: 'ca.crt' }]
  if (tls?.caConfigMap != null) return [{ name: 'nats-ca', configMap: { name: tls.caConfigMap.name, items: items(tls.caConfigMap.key) } }]
  if (tls?.caSecret != null) return [{ name: 'nats-ca', secret: { secretName: tls.caSecret.name, items: items(tls.caSecret.key) } }]
  return []
}
