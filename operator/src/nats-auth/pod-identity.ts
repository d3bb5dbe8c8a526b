import { NATS_IDENTITY_ANNOTATION } from '@meganet/contracts'
import { statusOf } from '../kube/kube-client.js'
import type { PodRef } from './admission.js'
import type { Kube } from '../kube/kube-client.js'
import type { V1Pod } from '@kubernetes/client-node'

/** A pod's status changes often (probes, conditions): a write that met one is tried again. */
const ATTEMPTS = 5

/** JSON Pointer escaping of one path segment (RFC 6901). */
const pointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * Records on the pod the PeerId of the one key it may log in to NATS with. It writes only to the
 * pod with this UID (not a successor of the same name), and never over a key recorded before or
 * meanwhile (the patch applies only to the version it read).
 */
export async function recordPodIdentity (kube: Kube, pod: PodRef, peerId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await kube.call<V1Pod>('get', async () => await kube.core.readNamespacedPod({ namespace: pod.namespace, name: pod.name }))
    if (current.metadata?.uid !== pod.uid) throw new Error(`pod ${pod.namespace}/${pod.name} is not the one that logged in any more`)
    const { annotations, resourceVersion } = current.metadata
    const recorded = annotations?.[NATS_IDENTITY_ANNOTATION]
    if (recorded === peerId) return
    if (recorded != null) throw new Error(`the pod already records ${recorded}`)
    try {
      await kube.call<unknown>('patch', async () => await kube.core.patchNamespacedPod({
        namespace: pod.namespace,
        name: pod.name,
        body: [
          { op: 'test', path: '/metadata/uid', value: pod.uid },
          { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
          annotations == null
            ? { op: 'add', path: '/metadata/annotations', value: { [NATS_IDENTITY_ANNOTATION]: peerId } }
            : { op: 'add', path: `/metadata/annotations/${pointer(NATS_IDENTITY_ANNOTATION)}`, value: peerId }
        ]
      }))
      return
    } catch (err) {
      // A failed `test` (the pod changed since it was read) is a 422: read it again.
      if (attempt >= ATTEMPTS || statusOf(err) !== 422) throw err
    }
  }
}
