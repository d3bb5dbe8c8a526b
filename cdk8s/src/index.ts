/**
 * @packageDocumentation
 * cdk8s constructs for every Kubernetes object MegaNet uses. The operator builds a fleet's
 * desired state from {@link FleetWorkload} at runtime; `npm run synth` writes the CRD into the
 * chart and plain manifests for users without Helm.
 */
export { AnchorFleetCrd } from './anchor-fleet-crd.js'
export type { AnchorFleetCrdProps } from './anchor-fleet-crd.js'
export { FleetWorkload, fleetNames } from './fleet-workload.js'
export type { FleetWorkloadProps } from './fleet-workload.js'
export { OperatorRbac } from './operator-rbac.js'
export type { OperatorRbacProps } from './operator-rbac.js'
export { OperatorDeployment, OPERATOR_PORTS } from './operator-deployment.js'
export type { OperatorDeploymentProps } from './operator-deployment.js'
export { anchorConfig, ANCHOR_PORTS, ANNOUNCE_DIR, peerPorts, peeringOption } from './anchor-config.js'
export type { PeerPort } from './anchor-config.js'
export { announceConfigMap, announceConfigMapName, announceEntry, hostMultiaddr } from './announce-addresses.js'
export type { AnchorPlacement, AnnounceEntry } from './announce-addresses.js'
export { ANCHOR_APP, OPERATOR_APP, selectorLabels, standardLabels } from './labels.js'
export { quantityBytes } from './quantity.js'
export { desiredFleetObjects } from './desired-objects.js'
export type { KubeObject } from './desired-objects.js'
