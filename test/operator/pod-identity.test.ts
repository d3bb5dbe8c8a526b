import { CoreV1Api } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NATS_IDENTITY_ANNOTATION } from '@meganet/contracts'
import { Kube } from '../../operator/src/kube/kube-client.js'
import { recordPodIdentity } from '../../operator/src/nats-auth/pod-identity.js'
import { OperatorMetrics } from '../../operator/src/operator-metrics.js'
import { TestControlPlane } from '../cluster/control-plane.js'
import { eventually } from '../helpers/anchor-process.js'
import type { V1Pod } from '@kubernetes/client-node'

const NAMESPACE = 'pod-identity'

/** The record that holds an anchor pod to one NATS key across operator leaders, on a real API server. */
describe('recording an anchor pod\'s NATS identity', () => {
  let plane: TestControlPlane
  let kube: Kube
  let core: CoreV1Api

  beforeAll(async () => {
    plane = await TestControlPlane.start()
    kube = new Kube(plane.kubeConfig, new OperatorMetrics())
    core = plane.client(CoreV1Api)
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } })
  }, 180_000)

  afterAll(async () => {
    await plane?.stop()
  })

  const createPod = async (name: string, annotations?: Record<string, string>): Promise<V1Pod> => await core.createNamespacedPod({
    namespace: NAMESPACE,
    body: { metadata: { name, ...(annotations != null ? { annotations } : {}) }, spec: { containers: [{ name: 'anchor', image: 'registry.invalid/meganet/anchor:test' }] } }
  })
  const annotationsOf = async (name: string): Promise<Record<string, string> | undefined> =>
    (await core.readNamespacedPod({ namespace: NAMESPACE, name })).metadata?.annotations

  it('records the key once on the pod, beside its other annotations, and refuses to record another', async () => {
    const pod = await createPod('anchor-0', { 'example.com/kept': 'yes' })
    const ref = { namespace: NAMESPACE, name: 'anchor-0', uid: pod.metadata?.uid ?? '' }
    await recordPodIdentity(kube, ref, '12D3KooWFirst')
    await recordPodIdentity(kube, ref, '12D3KooWFirst')
    expect(await annotationsOf('anchor-0')).toEqual({ 'example.com/kept': 'yes', [NATS_IDENTITY_ANNOTATION]: '12D3KooWFirst' })
    await expect(recordPodIdentity(kube, ref, '12D3KooWSecond')).rejects.toThrow(/already records 12D3KooWFirst/)
    expect((await annotationsOf('anchor-0'))?.[NATS_IDENTITY_ANNOTATION]).toBe('12D3KooWFirst')
  })

  it('records on a pod with no annotations, and never on a successor of the same name', async () => {
    const pod = await createPod('anchor-1')
    await recordPodIdentity(kube, { namespace: NAMESPACE, name: 'anchor-1', uid: pod.metadata?.uid ?? '' }, '12D3KooWOne')
    expect(await annotationsOf('anchor-1')).toEqual({ [NATS_IDENTITY_ANNOTATION]: '12D3KooWOne' })

    const old = await createPod('anchor-2')
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: 'anchor-2', gracePeriodSeconds: 0 })
    await eventually(async () => await createPod('anchor-2').catch(() => undefined), 30_000, 'a new pod anchor-2')
    await expect(recordPodIdentity(kube, { namespace: NAMESPACE, name: 'anchor-2', uid: old.metadata?.uid ?? '' }, '12D3KooWOld')).rejects.toThrow()
    expect(await annotationsOf('anchor-2')).toBeUndefined()
  })
})
