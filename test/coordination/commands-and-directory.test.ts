import { Kvm } from '@nats-io/kv'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PEER_DIRECTORY_BUCKET, commandSubject, directoryKey, membersBucket } from '@meganet/contracts'
import { FleetClient } from '../../fleet-client/src/index.js'
import type { AnchorProcess} from '../helpers/anchor-process.js';
import { eventually } from '../helpers/anchor-process.js'
import { TestPeers } from '../helpers/peers.js'
import { TestNats, natsClient } from '../helpers/nats.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import { MEMBER_TTL_MS, coordinationOf, fleetAnchor } from './fleet.js'
import type { NatsConnection } from '@nats-io/nats-core'

describe('fleet commands, drain and the peer directory', () => {
  let nats: TestNats
  let nc: NatsConnection
  const anchors: AnchorProcess[] = []
  const peers = new TestPeers()
  const scope = { region: 'local', fleet: 'cmds' }

  beforeAll(async () => {
    nats = await TestNats.start()
    nc = await natsClient(nats.url)
    for (let i = 0; i < 3; i++) anchors.push(await fleetAnchor(nats.url, scope.fleet))
    for (const anchor of anchors) {
      await eventually(async () => {
        const view = await coordinationOf(anchor)
        return view.coordination.members === 3 && view.anchors.connected === 2 ? true : undefined
      }, 20_000, 'fleet formed')
    }
  })

  afterEach(async () => {
    await peers.stopAll()
  })

  afterAll(async () => {
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nc?.close()
    await nats?.cleanup()
  })


  it('finds a peer through the directory when it is reserved on another anchor', async () => {
    const [a, , c] = anchors as [AnchorProcess, AnchorProcess, AnchorProcess]
    const hidden = await peers.on(a)
    const seeker = await peers.on(c)
    const found = await eventually(async () => {
      const result = await seeker.locate(hidden.peerId)
      return result.via === 'directory' ? result : undefined
    }, 10_000, 'directory answer')
    expect(found.multiaddrs.some(m => m.toString().includes(`/p2p/${a.peerId}/p2p-circuit`))).toBe(true)
    expect(await c.metric('meganet_directory_lookups_total{result="directory"}')).toBeGreaterThanOrEqual(1)
    await seeker.send(hidden.peerId, new TextEncoder().encode('found you'))

    // Its own anchor answers from its reservations; a peer that left is no longer listed.
    const neighbour = await peers.on(a)
    expect((await neighbour.locate(hidden.peerId)).via).toBe('anchor')
    const directory = await new Kvm(nc).open(PEER_DIRECTORY_BUCKET)
    expect((await directory.get(directoryKey(hidden.peerId, a.peerId)))?.operation).toBe('PUT')
    await hidden.stop()
    await eventually(async () => (await directory.get(directoryKey(hidden.peerId, a.peerId)))?.operation === 'PUT' ? undefined : true, 10_000, 'directory entry removed')
    expect(await a.metric('meganet_relay_reservations')).toBe(1)
  })

  it('drains an anchor: refuses new reservations, moves its peers, reports drained; undrain serves again', async () => {
    const b = anchors[1]!
    const fleet = new FleetClient(nc, scope, { commandKey: testOperatorKey().key })
    const mover = await peers.on(b)
    expect(mover.circuitAddresses()[0]).toContain(`/p2p/${b.peerId}/p2p-circuit`)

    const reply = await fleet.command(b.peerId, 'drain')
    expect(reply.member.phase).toBe('draining')

    await eventually(() => mover.circuitAddresses().some(addr => !addr.includes(b.peerId)) ? true : undefined, 20_000, 'peer moved to another anchor')
    await eventually(async () => {
      const member = (await fleet.members(MEMBER_TTL_MS)).find(m => m.peerId === b.peerId)
      return member?.phase === 'drained' && member.drain?.reservationsLeft === 0 ? true : undefined
    }, 20_000, 'drained reported')
    expect((await fetch(b.url('/readyz'))).status).toBe(503)

    // A newcomer that only knows the drained anchor is refused there and reserves on another one.
    const newcomer = await peers.on(b)
    expect(newcomer.circuitAddresses().every(addr => !addr.includes(`/p2p/${b.peerId}/p2p-circuit`))).toBe(true)
    expect(await b.metric('meganet_relay_reservations_refused_total{reason="draining"}')).toBeGreaterThanOrEqual(1)
    expect(await b.metric('meganet_relay_reservations')).toBe(0)
    expect(await b.metric('meganet_coordination_commands_total{command="drain",outcome="ok"}')).toBe(1)

    const status = await fleet.command(b.peerId, 'status')
    expect(status.member.phase).toBe('drained')
    expect((await fleet.command(b.peerId, 'undrain')).member.phase).toBe('serving')
    expect((await fetch(b.url('/readyz'))).status).toBe(200)
    await expect(fleet.command('12D3KooWNoSuchAnchorNoSuchAnchorNoSuchAnchorNoSuchAnch', 'status', 500)).rejects.toThrow(/no reply within 500 ms/)
  })

  it('rejects and counts malformed and oversized coordination messages without harm', async () => {
    const target = anchors[2]!
    const subject = commandSubject(scope, target.peerId)
    const garbage = await nc.request(subject, new TextEncoder().encode('{"command":"explode"}'), { timeout: 5_000 })
    expect(JSON.parse(new TextDecoder().decode(garbage.data))).toMatchObject({ ok: false, error: expect.stringContaining('invalid command') as string })
    const notJson = await nc.request(subject, new Uint8Array([0xff, 0xfe, 0x00]), { timeout: 5_000 })
    expect(new TextDecoder().decode(notJson.data)).toContain('not UTF-8 JSON')
    const huge = await nc.request(subject, new Uint8Array(100 * 1024).fill(0x20), { timeout: 5_000 })
    expect(new TextDecoder().decode(huge.data)).toContain('limit is 65536')
    expect(await target.metric('meganet_coordination_messages_rejected_total{source="command",reason="malformed"}')).toBe(2)
    expect(await target.metric('meganet_coordination_messages_rejected_total{source="command",reason="oversized"}')).toBe(1)

    // Forged membership records: garbage, a record under someone else's key, and a huge one.
    const kv = await new Kvm(nc).open(membersBucket(scope))
    await kv.put('garbage', new TextEncoder().encode('not a record'))
    const real = await kv.get(anchors[0]!.peerId)
    await kv.put('12D3KooWForgedKeyForgedKeyForgedKeyForgedKeyForgedKey', real!.value)
    await kv.put('huge', new Uint8Array(70 * 1024).fill(0x7b))
    const refusedMembers = async (): Promise<number> => await target.metric('meganet_coordination_messages_rejected_total{source="member",reason="malformed"}') +
      await target.metric('meganet_coordination_messages_rejected_total{source="member",reason="mismatch"}')
    await eventually(async () => (await refusedMembers()) >= 2 ? true : undefined, 5_000, 'malformed and misplaced records counted')
    expect(await target.metric('meganet_coordination_messages_rejected_total{source="member",reason="oversized"}')).toBe(1)
    expect((await coordinationOf(target)).coordination.members).toBe(3)
    expect((await fetch(target.url('/healthz'))).status).toBe(200)
    await kv.delete('garbage')
    await kv.delete('huge')
  })
})
