import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MeganetPeer } from '../../node-image/src/peer/index.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import type { ReceivedMessage } from '../../node-image/src/peer/index.js'

describe('peers behind NAT reach each other by PeerId through four anchors', () => {
  const anchors: AnchorProcess[] = []
  const peers: MeganetPeer[] = []

  beforeAll(async () => {
    anchors.push(await AnchorProcess.start())
    anchors.push(await AnchorProcess.start({ bootstrap: [anchors[0]!.tcpAddress] }))
    anchors.push(await AnchorProcess.start({ bootstrap: [anchors[0]!.tcpAddress, anchors[1]!.tcpAddress] }))
    anchors.push(await AnchorProcess.start({ bootstrap: [anchors[1]!.tcpAddress] }))
    for (const anchor of anchors) {
      await eventually(async () => (await fetch(anchor.url('/readyz'))).ok ? true : undefined, 20_000, 'anchor ready')
    }
  })

  afterAll(async () => {
    await Promise.all(peers.map(async p => await p.stop()))
    await Promise.all(anchors.map(async a => await a.cleanup()))
  })

  it('says soon that an anchor without the relay role cannot make it reachable', async () => {
    const bootstrapOnly = await AnchorProcess.start({ flags: { roles: 'bootstrap' } })
    try {
      const peer = await MeganetPeer.create({ anchors: [bootstrapOnly.tcpAddress], allowPrivateAddresses: true, reservationTimeoutMs: 60_000 })
      const started = Date.now()
      const failure = await peer.start().then(() => undefined, (err: unknown) => err)
      await peer.stop()
      expect(failure).toMatchObject({ code: 'no-relay', message: `${bootstrapOnly.peerId} does not run the relay role` })
      expect(Date.now() - started).toBeLessThan(30_000) // not the 60 s reservation timeout
    } finally {
      await bootstrapOnly.cleanup()
    }
  })

  it('delivers a message from a peer on one anchor to a peer on another, knowing only its PeerId', async () => {
    // Each peer knows a different anchor and listens only on relay addresses.
    const receiver = await MeganetPeer.create({ anchors: [anchors[2]!.tcpAddress], allowPrivateAddresses: true })
    const sender = await MeganetPeer.create({ anchors: [anchors[0]!.tcpAddress], allowPrivateAddresses: true })
    peers.push(receiver, sender)
    await receiver.start()
    await sender.start()
    expect(receiver.node.getMultiaddrs().every(a => a.toString().includes('/p2p-circuit'))).toBe(true)
    expect(receiver.circuitAddresses()[0]).toContain(`/p2p/${anchors[2]!.peerId}/p2p-circuit`)

    const found = await sender.find(receiver.peerId)
    expect(found.some(a => a.toString().includes(`/p2p/${anchors[2]!.peerId}/p2p-circuit`))).toBe(true)

    const received: ReceivedMessage[] = []
    receiver.onMessage(m => received.push(m))
    await sender.send(receiver.peerId, new TextEncoder().encode('hello over the relay'))

    expect(received).toHaveLength(1)
    expect(new TextDecoder().decode(received[0]!.data)).toBe('hello over the relay')
    expect(received[0]!.from).toBe(sender.peerId)
    expect(received[0]!.relayed).toBe(true)

    const ping = await sender.ping(receiver.peerId)
    expect(ping.path).toBe('relayed')
    expect(ping.rttMs).toBeGreaterThanOrEqual(0)

    const relayed = await anchors[2]!.metric('meganet_relay_relayed_bytes_total')
    expect(relayed).toBeGreaterThan(0)
  })

  it('finds a peer by PeerId through the DHT when asking from any other anchor', async () => {
    const hidden = await MeganetPeer.create({ anchors: [anchors[3]!.tcpAddress], allowPrivateAddresses: true })
    peers.push(hidden)
    await hidden.start()
    for (const start of [0, 1, 2]) {
      const seeker = await MeganetPeer.create({ anchors: [anchors[start]!.tcpAddress], allowPrivateAddresses: true })
      peers.push(seeker)
      await seeker.start()
      const found = (await seeker.find(hidden.peerId)).map(a => a.toString())
      expect(found.some(a => a.includes(`/p2p/${anchors[3]!.peerId}/p2p-circuit`))).toBe(true)
    }
  })

  it('refuses to look up something that is not a PeerId, and reports a PeerId nobody has', async () => {
    const seeker = await MeganetPeer.create({ anchors: [anchors[0]!.tcpAddress], allowPrivateAddresses: true })
    peers.push(seeker)
    await seeker.start()
    await expect(seeker.find('not-a-peer-id')).rejects.toThrow(/is not a PeerId/)
    const stranger = (await MeganetPeer.create({ anchors: [anchors[0]!.tcpAddress] })).peerId
    await expect(seeker.find(stranger, 5_000)).rejects.toThrow(/is not online/)
  })
})
