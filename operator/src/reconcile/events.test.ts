import { ApiException } from '@kubernetes/client-node'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { FleetEvents } from './events.js'
import type { Kube } from '../kube/kube-client.js'
import type { CoreV1Event } from '@kubernetes/client-node'
import type { AnchorFleet } from '@meganet/contracts'

const fleet = { metadata: { name: 'anchors', namespace: 'mesh', uid: 'u1' } } as unknown as AnchorFleet
const log = pino({ level: 'silent' })

/** The Events part of the API server, in memory. */
function eventsApi (): { kube: Kube, events: Map<string, CoreV1Event> } {
  const events = new Map<string, CoreV1Event>()
  let next = 0
  const kube = {
    call: async <T>(_verb: string, fn: () => Promise<T>): Promise<T> => await fn(),
    core: {
      createNamespacedEvent: async ({ body }: { body: CoreV1Event }) => {
        const event = { ...body, metadata: { ...body.metadata, name: `anchors.${next++}` } }
        events.set(event.metadata.name, event)
        return await Promise.resolve(event)
      },
      replaceNamespacedEvent: async ({ name, body }: { name: string, body: CoreV1Event }) => {
        if (!events.has(name)) throw new ApiException(404, 'not found', {}, {})
        events.set(name, body)
        return await Promise.resolve(body)
      }
    }
  }
  return { kube: kube as unknown as Kube, events }
}

describe('fleet events', () => {
  it('aggregate repeats into one Event with a count, as Kubernetes\' event compression does', async () => {
    const { kube, events } = eventsApi()
    let now = Date.parse('2026-12-03T10:00:00Z')
    const recorder = new FleetEvents({ kube, now: () => now })
    for (let i = 0; i < 30; i++) {
      await recorder.record(fleet, 'Warning', 'ScaleDownRefused', 'anchor-4 holds the only copy of 3 blocks', log)
      now += 2_000
    }
    expect(events.size).toBe(1)
    const [event] = [...events.values()]
    expect(event?.count).toBe(30)
    expect(event?.lastTimestamp).toEqual(new Date(now - 2_000))
    expect(event?.firstTimestamp).toEqual(new Date(Date.parse('2026-12-03T10:00:00Z')))

    await recorder.record(fleet, 'Warning', 'ScaleDownRefused', 'anchor-4 holds the only copy of 2 blocks', log)
    expect(events.size).toBe(2)

    // Ten minutes after the first, a repeat starts a new Event; so does one whose Event expired.
    now += 10 * 60_000
    await recorder.record(fleet, 'Warning', 'ScaleDownRefused', 'anchor-4 holds the only copy of 3 blocks', log)
    expect(events.size).toBe(3)
    events.clear()
    await recorder.record(fleet, 'Warning', 'ScaleDownRefused', 'anchor-4 holds the only copy of 3 blocks', log)
    expect([...events.values()].map(e => e.count)).toEqual([1])
  })
})
