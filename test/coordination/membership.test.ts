import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FleetClient } from '../../fleet-client/src/index.js'
import type { AnchorProcess} from '../helpers/anchor-process.js';
import { eventually } from '../helpers/anchor-process.js'
import { TestNats, natsClient } from '../helpers/nats.js'
import { MEMBER_TTL_MS, coordinationOf, fleetAnchor } from './fleet.js'
import type { NatsConnection } from '@nats-io/nats-core'

describe('fleet membership over NATS', () => {
  let nats: TestNats
  let nc: NatsConnection
  let fleet: FleetClient
  const anchors: AnchorProcess[] = []

  beforeAll(async () => {
    nats = await TestNats.start()
    nc = await natsClient(nats.url)
    fleet = new FleetClient(nc, { region: 'local', fleet: 'membership' })
  })

  afterAll(async () => {
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nc?.close()
    await nats?.cleanup()
  })

  async function members (): Promise<string[]> {
    return (await fleet.members(MEMBER_TTL_MS)).map(m => m.peerId).sort()
  }

  it('converges as anchors join, and the mesh forms from membership alone', async () => {
    for (let i = 0; i < 3; i++) anchors.push(await fleetAnchor(nats.url, 'membership'))
    const ids = anchors.map(a => a.peerId).sort()
    await eventually(async () => JSON.stringify(await members()) === JSON.stringify(ids) ? true : undefined, 15_000, 'three members')
    for (const anchor of anchors) {
      // No anchor was given --bootstrap: each found the other two through the membership bucket.
      await eventually(async () => {
        const view = await coordinationOf(anchor)
        return view.coordination.members === 3 && view.anchors.connected === 2 ? true : undefined
      }, 15_000, 'each anchor sees and connects to the other two')
    }
    const record = (await fleet.members(MEMBER_TTL_MS)).find(m => m.peerId === anchors[0]!.peerId)
    expect(record).toMatchObject({ phase: 'serving', region: 'local', fleet: 'membership', roles: ['bootstrap', 'relay', 'storage'] })
    expect(record?.load.freeDiskBytes).toBeGreaterThan(0)
    expect(record?.multiaddrs.some(a => a.endsWith(`/p2p/${anchors[0]!.peerId}`))).toBe(true)
    expect(await anchors[0]!.metric('meganet_coordination_members')).toBe(3)
    expect(await anchors[0]!.metric('meganet_coordination_connected')).toBe(1)
  })

  it('drops an anchor that stops cleanly at once, and one killed with -9 once its record is stale', async () => {
    const [first, second, third] = anchors as [AnchorProcess, AnchorProcess, AnchorProcess]
    expect(await third.stop('SIGTERM')).toBe(0)
    // A clean stop deletes the record: gone well before the TTL could have expired it.
    const cleanStart = Date.now()
    await eventually(async () => (await members()).includes(third.peerId) ? undefined : true, 5_000, 'clean leave')
    await eventually(async () => (await coordinationOf(first)).coordination.members === 2 ? true : undefined, 5_000, 'first sees the leave')
    expect(Date.now() - cleanStart).toBeLessThan(MEMBER_TTL_MS + 1_000)

    await second.stop('SIGKILL')
    await eventually(async () => (await coordinationOf(first)).coordination.members === 1 ? true : undefined, MEMBER_TTL_MS * 4, 'crashed member expired')
    expect(await members()).toEqual([first.peerId])
  })

  it('takes a restarted anchor back with the same PeerId', async () => {
    const crashed = anchors[1]!
    const again = await fleetAnchor(nats.url, 'membership', {}, crashed.dataDir)
    anchors.push(again)
    expect(again.peerId).toBe(crashed.peerId)
    await eventually(async () => (await members()).includes(again.peerId) ? true : undefined, 10_000, 'rejoined')
  })
})
