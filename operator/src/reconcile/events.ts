import { ANCHOR_FLEET } from '@meganet/contracts'
import type { Kube } from '../kube/kube-client.js'
import type { AnchorFleet } from '@meganet/contracts'
import type { Logger } from 'pino'

/** Records a Kubernetes Event on a fleet; failing to record one never fails a reconcile. */
export async function recordEvent (kube: Kube, fleet: AnchorFleet, type: 'Normal' | 'Warning', reason: string, message: string, log: Logger): Promise<void> {
  const now = new Date()
  try {
    await kube.call('create', async () => await kube.core.createNamespacedEvent({
      namespace: fleet.metadata.namespace,
      body: {
        metadata: { generateName: `${fleet.metadata.name}.`, namespace: fleet.metadata.namespace },
        involvedObject: {
          apiVersion: ANCHOR_FLEET.apiVersion, kind: ANCHOR_FLEET.kind, name: fleet.metadata.name,
          namespace: fleet.metadata.namespace, ...(fleet.metadata.uid != null ? { uid: fleet.metadata.uid } : {})
        },
        type, reason, message: message.slice(0, 1024),
        source: { component: 'meganet-operator' },
        firstTimestamp: now, lastTimestamp: now, count: 1
      }
    }))
  } catch (err) {
    log.debug({ err: (err as Error).message, reason }, 'could not record an event')
  }
}
