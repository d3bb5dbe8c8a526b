import { NATS_IDENTITY_ANNOTATION, SCOPE_NAME_PATTERN } from '@meganet/contracts'
import { ANCHOR_APP, fleetNames } from '@meganet/cdk8s'
import type { AnchorPod } from './admission.js'
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node'

/** A watched AnchorFleet, as much as admission reads of it. */
export interface WatchedFleetRef {
  readonly namespace: string
  readonly name: string
  readonly region: unknown
}

/** The operator's caches (the leader's informers). */
export interface AnchorPodsView {
  readonly pods: () => readonly V1Pod[]
  readonly fleets: () => readonly WatchedFleetRef[]
  readonly statefulSet: (namespace: string, name: string) => V1StatefulSet | undefined
}

/**
 * The anchor pod that has `address`, if it is one the operator runs: a live pod (not finished,
 * not on the host's network, whose address would be its node's) with the anchor labels, created
 * by its fleet's StatefulSet (the controller reference names that StatefulSet and its UID), of a
 * fleet with a valid region and name that no fleet in another namespace shares (both would share
 * one coordination scope). Whoever may create pods in a fleet's namespace can still pass for one
 * of its anchors: that right is an anchor's right (SECURITY.md).
 */
export function anchorPodAt (address: string, view: AnchorPodsView): AnchorPod | undefined {
  const pod = view.pods().find(p => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' &&
    [p.status?.podIP, ...(p.status?.podIPs ?? []).map(ip => ip.ip)].includes(address))
  if (pod == null || pod.spec?.hostNetwork === true) return undefined
  const namespace = pod.metadata?.namespace ?? ''
  const fleet = pod.metadata?.labels?.['app.kubernetes.io/instance'] ?? ''
  if (pod.metadata?.labels?.['app.kubernetes.io/name'] !== ANCHOR_APP || !SCOPE_NAME_PATTERN.test(fleet)) return undefined
  const sameName = view.fleets().filter(f => f.name === fleet)
  const own = sameName.find(f => f.namespace === namespace)
  if (own == null || typeof own.region !== 'string' || !SCOPE_NAME_PATTERN.test(own.region)) return undefined
  if (sameName.some(f => f !== own && f.region === own.region)) return undefined
  const controller = pod.metadata?.ownerReferences?.find(o => o.controller === true)
  const statefulSet = view.statefulSet(namespace, fleetNames(fleet).statefulSet)
  if (controller?.kind !== 'StatefulSet' || controller.name !== fleetNames(fleet).statefulSet || statefulSet?.metadata?.uid == null || controller.uid !== statefulSet.metadata.uid) return undefined
  const uid = pod.metadata?.uid
  const boundKey = pod.metadata?.annotations?.[NATS_IDENTITY_ANNOTATION]
  return {
    scope: { region: own.region, fleet },
    ...(uid != null ? { pod: { namespace, name: pod.metadata?.name ?? '', uid } } : {}),
    ...(boundKey != null ? { boundKey } : {})
  }
}
