import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FleetClient } from '../../fleet-client/src/index.js'
import { MeganetPeer } from '../../node-image/src/peer/index.js'
import type { AnchorProcess} from '../helpers/anchor-process.js';
import { eventually } from '../helpers/anchor-process.js'
import { TestNats, natsClient, startNatsCluster } from '../helpers/nats.js'
import { MEMBER_TTL_MS, coordinationOf, fleetAnchor } from './fleet.js'

describe('NATS fully down', () => {
  let nats: TestNats
  const anchors: AnchorProcess[] = []
  const peers: MeganetPeer[] = []

  beforeAll(async () => {
    nats = await TestNats.start()
  })

  afterAll(async () => {
    await Promise.all(peers.map(async p => await p.stop()))
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
  })

  it('leaves anchors serving peers, and they rejoin the fleet when NATS returns', async () => {
    const anchor = await fleetAnchor(nats.url, 'outage')
    anchors.push(anchor)
    await eventually(async () => (await coordinationOf(anchor)).coordination.state === 'connected' ? true : undefined, 10_000, 'connected')

    await nats.stop('SIGKILL')
    await eventually(async () => (await coordinationOf(anchor)).coordination.state === 'disconnected' ? true : undefined, 10_000, 'disconnected')
    const readiness = await fetch(anchor.url('/readyz'))
    expect(readiness.status).toBe(200)
    expect(await readiness.json()).toMatchObject({ ready: true, coordination: 'disconnected' })
    expect(await anchor.metric('meganet_coordination_connected')).toBe(0)

    // Peers join and talk through the anchor while the coordination plane is gone.
    const receiver = await MeganetPeer.create({ anchors: [anchor.tcpAddress], allowPrivateAddresses: true })
    const sender = await MeganetPeer.create({ anchors: [anchor.tcpAddress], allowPrivateAddresses: true })
    peers.push(receiver, sender)
    await receiver.start()
    await sender.start()
    const received: string[] = []
    receiver.onMessage(m => received.push(new TextDecoder().decode(m.data)))
    await sender.send(receiver.peerId, new TextEncoder().encode('nats is down'))
    expect(received).toEqual(['nats is down'])

    await nats.restart()
    await eventually(async () => (await coordinationOf(anchor)).coordination.state === 'connected' ? true : undefined, 20_000, 'reconnected')
    const natsLog = (): string => anchor.logs.filter(l => l.includes('NATS') || l.includes('coordination')).slice(-20).join('\n')
    expect(await anchor.metric('meganet_coordination_reconnects_total'), `the anchor's NATS log:\n${natsLog()}`).toBeGreaterThanOrEqual(1)
    const nc = await natsClient(nats.url)
    try {
      const fleet = new FleetClient(nc, { region: 'local', fleet: 'outage' })
      await eventually(async () => (await fleet.members(MEMBER_TTL_MS)).some(m => m.peerId === anchor.peerId) ? true : undefined, 10_000, 'record rewritten')
    } finally {
      await nc.close()
    }
  })
})

describe('a 3-node NATS cluster losing one node', () => {
  let cluster: TestNats[] = []
  const anchors: AnchorProcess[] = []

  beforeAll(async () => {
    cluster = await startNatsCluster(3)
  })

  afterAll(async () => {
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await Promise.all(cluster.map(async n => await n.cleanup()))
  })

  it('keeps the fleet coordinated: heartbeats continue and a new member is seen by all', async () => {
    const formedStart = Date.now()
    const urls = cluster.map(n => n.url)
    for (let i = 0; i < 2; i++) {
      anchors.push(await fleetAnchor(urls, 'clustered', { 'coordination-replicas': '3' }))
    }
    for (const anchor of anchors) {
      await eventually(async () => (await coordinationOf(anchor)).coordination.members === 2 ? true : undefined, 30_000, 'two members on R3 buckets')
    }

    console.log(`formed after ${Date.now() - formedStart} ms`)
    const lossStart = Date.now()
    await cluster[0]!.stop('SIGKILL')
    const third = await fleetAnchor(urls, 'clustered', { 'coordination-replicas': '3' })
    anchors.push(third)
    for (const anchor of anchors) {
      let last: unknown
      await eventually(async () => {
        const view = await coordinationOf(anchor)
        last = view.coordination
        return view.coordination.members === 3 && (view.coordination.heartbeatAgeSeconds ?? 99) < 2 ? true : undefined
      }, 45_000, 'three members after losing a NATS node').catch((err: Error) => {
        throw new Error(`${err.message}; anchor ${anchor.peerId} reports ${JSON.stringify(last)}`)
      })
    }
    console.log(`recovered ${Date.now() - lossStart} ms after losing a node`)
  })
})

describe('NATS with credentials', () => {
  let nats: TestNats
  const anchors: AnchorProcess[] = []

  beforeAll(async () => {
    nats = await TestNats.start({ auth: { user: 'anchor', password: 's3cret' } })
  })

  afterAll(async () => {
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
  })

  it('joins with the right password (from the environment) and reports why it cannot with a wrong one', async () => {
    const good = await fleetAnchor(nats.url, 'auth', { 'nats-user': 'anchor' }, undefined, { MEGANET_NATS_PASSWORD: 's3cret' })
    anchors.push(good)
    await eventually(async () => (await coordinationOf(good)).coordination.state === 'connected' ? true : undefined, 10_000, 'connected with the password')
    const wrong = await fleetAnchor(nats.url, 'auth', { 'nats-user': 'anchor', 'nats-password': 'guess' })
    anchors.push(wrong)
    // It is 'connecting' from the start; the reason appears once the first attempt was refused.
    const lastError = await eventually(async () => {
      const status = await wrong.json<{ coordination: { state: string, lastError: string | null } }>('/status')
      return status.coordination.state === 'connecting' && status.coordination.lastError != null ? status.coordination.lastError : undefined
    }, 15_000, 'the wrong password refused, with its reason')
    expect(lastError).toMatch(/Authorization Violation|authorization/i)
    expect((await fetch(wrong.url('/readyz'))).status).toBe(200)
  })
})
