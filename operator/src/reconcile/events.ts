import { ANCHOR_FLEET } from '@meganet/contracts'
import { isNotFound } from '../kube/kube-client.js'
import type { Kube } from '../kube/kube-client.js'
import type { CoreV1Event } from '@kubernetes/client-node'
import type { AnchorFleet } from '@meganet/contracts'
import type { Logger } from 'pino'

/** A repeat of the same event within this long raises the count of the one recorded before. */
const AGGREGATE_WINDOW_MS = 10 * 60_000
/** At most this many distinct events are remembered for aggregation (oldest forgotten first). */
const MAX_REMEMBERED = 1_000

export interface FleetEventsInit {
  readonly kube: Kube
  readonly now?: () => number
}

/**
 * Records Kubernetes Events on fleets. A reconcile that retries every 2 s must not create an
 * Event each time: like the kubelet's event compression, a repeat (same fleet, type, reason and
 * message) within ten minutes raises `count` and `lastTimestamp` on the Event recorded before.
 * Failing to record an event never fails a reconcile.
 */
export class FleetEvents {
  private readonly init: FleetEventsInit
  private readonly recorded = new Map<string, { event: CoreV1Event, atMs: number }>()

  constructor (init: FleetEventsInit) {
    this.init = init
  }

  async record (fleet: AnchorFleet, type: 'Normal' | 'Warning', reason: string, message: string, log: Logger): Promise<void> {
    const { kube } = this.init
    const nowMs = (this.init.now ?? Date.now)()
    const now = new Date(nowMs)
    const text = message.slice(0, 1024)
    const key = JSON.stringify([fleet.metadata.namespace, fleet.metadata.name, fleet.metadata.uid, type, reason, text])
    const previous = this.recorded.get(key)
    try {
      const name = previous?.event.metadata?.name
      if (previous != null && name != null && nowMs - previous.atMs < AGGREGATE_WINDOW_MS) {
        const body: CoreV1Event = { ...previous.event, count: (previous.event.count ?? 1) + 1, lastTimestamp: now }
        try {
          const event = await kube.call('update', async () => await kube.core.replaceNamespacedEvent({ name, namespace: fleet.metadata.namespace, body }))
          this.remember(key, event, previous.atMs)
          return
        } catch (err) {
          if (!isNotFound(err)) throw err
          // The Event expired (the API server keeps them an hour by default): record a new one.
        }
      }
      const event = await kube.call('create', async () => await kube.core.createNamespacedEvent({
        namespace: fleet.metadata.namespace,
        body: {
          metadata: { generateName: `${fleet.metadata.name}.`, namespace: fleet.metadata.namespace },
          involvedObject: {
            apiVersion: ANCHOR_FLEET.apiVersion, kind: ANCHOR_FLEET.kind, name: fleet.metadata.name,
            namespace: fleet.metadata.namespace, ...(fleet.metadata.uid != null ? { uid: fleet.metadata.uid } : {})
          },
          type, reason, message: text,
          source: { component: 'meganet-operator' },
          firstTimestamp: now, lastTimestamp: now, count: 1
        }
      }))
      this.remember(key, event, nowMs)
    } catch (err) {
      this.recorded.delete(key)
      log.debug({ err: (err as Error).message, reason }, 'could not record an event')
    }
  }

  private remember (key: string, event: CoreV1Event, atMs: number): void {
    this.recorded.delete(key)
    this.recorded.set(key, { event, atMs })
    if (this.recorded.size > MAX_REMEMBERED) this.recorded.delete(this.recorded.keys().next().value!)
  }
}
