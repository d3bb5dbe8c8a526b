import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Federation } from '../../node-image/src/devnet/federation.js'
import { MeganetPeer, fileBootstrapCache } from '../../node-image/src/peer/index.js'
import { eventually } from '../helpers/anchor-process.js'
import { freshSnapshot } from '../helpers/fresh-snapshot.js'
import { natsServerBinary } from '../helpers/nats.js'
import { HEARTBEAT_MS, MEMBER_TTL_MS } from '../coordination/fleet.js'
import { LyingDhtNode } from './lying-dht-node.js'
import type { AnchorChild } from '../../node-image/src/devnet/anchor-child.js'
import type { OperatorFleet } from '../../node-image/src/devnet/federation.js'

/**
 * Three operators on one machine: each its own nats-server and fleet, no NATS link between
 * them, peered only through `peering` (signed bootstrap lists, pinned PeerIds) and libp2p.
 */
const OPERATORS = ['north', 'south', 'east'] as const
const ANCHORS_PER_FLEET = 2
const PEERS_PER_FLEET = 2

describe('one network across independent operators', () => {
  let federation: Federation
  const peers = new Map<string, MeganetPeer[]>()
  let cacheDir = ''

  const peersOf = (operator: OperatorFleet): MeganetPeer[] => peers.get(operator.name) ?? []

  beforeAll(async () => {
    federation = await Federation.start({
      operators: OPERATORS,
      anchorsPerFleet: ANCHORS_PER_FLEET,
      natsServer: natsServerBinary(),
      anchorFlags: {
        'coordination-heartbeat': `${HEARTBEAT_MS}ms`,
        'coordination-member-ttl': `${MEMBER_TTL_MS}ms`,
        'shutdown-grace': '1s',
        // Every peer here comes from 127.0.0.1: the per-network cap (4 circuits to one peer) would bite.
        'relay-max-circuits-per-prefix-to-peer': '0'
      }
    })
    await federation.waitPeered()
    cacheDir = await mkdtemp(join(tmpdir(), 'meganet-peer-caches-'))
    for (const operator of federation.operators) {
      const started: MeganetPeer[] = []
      for (let i = 0; i < PEERS_PER_FLEET; i++) {
        const peer = await MeganetPeer.create({
          bootstrapUrl: operator.bootstrapUrls[i % ANCHORS_PER_FLEET],
          trustedAnchors: operator.pins,
          bootstrapCache: fileBootstrapCache(join(cacheDir, `${operator.name}-${i}.json`)),
          allowPrivateAddresses: true,
          reconnect: { initialBackoffMs: 250, maxBackoffMs: 2_000 }
        })
        started.push(peer)
        await peer.start()
      }
      peers.set(operator.name, started)
    }
    // A peer is findable across operators once an anchor has put its signed record into the DHT.
    const joined = Date.now()
    const peerCount = OPERATORS.length * PEERS_PER_FLEET
    await eventually(async () => await sumOver(federation.anchors, 'meganet_dht_peer_records_published_total{result="stored"}') >= peerCount ? true : undefined,
      10_000, 'every peer\'s record published')
    console.log(`records of ${peerCount} peers published ${Date.now() - joined} ms after the last peer joined`)
  }, 180_000)

  afterAll(async () => {
    await Promise.all([...peers.values()].flat().map(async p => await p.stop().catch(() => {})))
    await federation?.stop('SIGKILL')
    if (cacheDir !== '') await rm(cacheDir, { recursive: true, force: true })
  })

  it('puts each fleet\'s peered fleets, as they signed their lists, into its own signed list', async () => {
    const [north, south, east] = federation.operators as [OperatorFleet, OperatorFleet, OperatorFleet]
    const list = await (await fetch(north.bootstrapUrls[0] as string)).json() as { payload: string }
    const payload = JSON.parse(list.payload) as { peered?: Array<{ pins: string[], list: { signer: string, payload: string } }> }
    expect(payload.peered?.map(p => p.list.signer).sort()).toEqual([south.pins[0], east.pins[0]].sort())
    // The lists inside do not name peered fleets of their own: trust goes one hop.
    expect(payload.peered?.every(p => !('peered' in (JSON.parse(p.list.payload) as object)))).toBe(true)
  })

  it('exports each peered fleet\'s health from every anchor, labelled by its bootstrap URL', async () => {
    for (const operator of federation.operators) {
      const others = federation.operators.filter(o => o !== operator)
      const text = await freshSnapshot(operator.anchors[0]!.url('/metrics'))
      const samples = (name: string): Map<string, number> => new Map(text.split('\n').filter(l => l.startsWith(`${name}{`))
        .map(l => [/peering="([^"]*)"/.exec(l)?.[1] ?? '', Number(l.slice(l.lastIndexOf(' ') + 1))]))
      const verified = samples('meganet_peering_list_verified')
      expect([...verified.values()]).toEqual(others.map(() => 1))
      // Labelled by the peered fleets' URLs: their hosts and paths, never a query value.
      for (const label of verified.keys()) expect(label).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/bootstrap(\?…)?$/)
      await eventually(async () => {
        const connected = (await freshSnapshot(operator.anchors[0]!.url('/metrics'))).split('\n')
          .filter(l => l.startsWith('meganet_peering_anchors_connected{')).map(l => Number(l.slice(l.lastIndexOf(' ') + 1)))
        return connected.length === others.length && connected.every(n => n >= 1) ? true : undefined
      }, 10_000, `${operator.name}'s first anchor connected into every peered fleet`)
      expect([...samples('meganet_peering_list_age_seconds').values()].every(age => age >= 0 && age < 600)).toBe(true)
    }
  })

  it('every peer finds and messages every other, across operators through the DHT directory', async () => {
    const all = federation.operators.flatMap(o => peersOf(o).map(peer => ({ peer, operator: o.name })))
    const received = new Map<string, string[]>()
    for (const { peer } of all) peer.onMessage(m => { received.set(peer.peerId, [...(received.get(peer.peerId) ?? []), new TextDecoder().decode(m.data)]) })
    const failures: string[] = []
    const vias = new Map<string, number>()
    for (const from of all) {
      for (const to of all) {
        if (from === to) continue
        let found: Awaited<ReturnType<MeganetPeer['locate']>> | undefined
        try {
          found = await from.peer.locate(to.peer.peerId)
          const key = `${from.operator === to.operator ? 'same' : 'cross'}:${found.via}`
          vias.set(key, (vias.get(key) ?? 0) + 1)
          await from.peer.send(to.peer.peerId, new TextEncoder().encode(from.peer.peerId))
        } catch (err) {
          failures.push(`${from.operator} -> ${to.operator}: ${(err as Error).message} (found via ${found?.via ?? '-'}: ${found?.multiaddrs.join(' ') ?? '-'})`)
        }
      }
    }
    expect(failures).toEqual([])
    // Across operators nothing but the peers' own signed records can have answered.
    expect([...vias.keys()].filter(k => k.startsWith('cross:')).sort()).toEqual(['cross:dht'])
    for (const { peer } of all) expect(received.get(peer.peerId)?.length).toBe(all.length - 1)
  }, 120_000)

  it('a lying DHT node\'s forged records redirect no peer, and the anchors count them', async () => {
    const [north, south] = federation.operators as [OperatorFleet, OperatorFleet]
    const victim = peersOf(north)[0] as MeganetPeer
    const asker = peersOf(south)[0] as MeganetPeer
    const liar = await LyingDhtNode.start({ forgeFor: victim.peerId })
    try {
      await liar.connect(federation.anchors.map(a => a.tcpAddress))
      const forgeries = async (): Promise<number> => await sumOver(federation.anchors, 'meganet_dht_peer_records_rejected_total{reason="wrong-peer"}')
      const before = await forgeries()
      // Lookups walk to every anchor and the liar at once, and the liar answers each with its
      // forgery; a walk stops at its quorum of valid records, so whether the liar's answer is read
      // before that is a race. Look up until the liar has served it, and check every answer.
      let lookups = 0
      await eventually(async () => {
        lookups++
        const found = await asker.locate(victim.peerId)
        expect(found.multiaddrs.map(a => a.toString()).every(a => !a.includes(liar.peerId))).toBe(true)
        await asker.send(victim.peerId, new TextEncoder().encode('still you?'))
        return liar.served > 0 ? true : undefined
      }, 30_000, 'the liar asked for the victim\'s record')
      // Pushed to the anchors closest to the victim's key, the forgery is refused and counted by
      // each: no race there.
      const pushed = await liar.pushForgery()
      expect(pushed.sentTo.length).toBeGreaterThan(0)
      expect(pushed.storedBy).toEqual([])
      const counted = await forgeries() - before
      expect(counted).toBeGreaterThanOrEqual(pushed.sentTo.length)
      const after = await asker.locate(victim.peerId)
      expect(after.multiaddrs.map(a => a.toString()).every(a => !a.includes(liar.peerId))).toBe(true)
      console.log(`the liar served its forgery ${liar.served} times in ${lookups} lookups; no peer was redirected; pushed to ${pushed.sentTo.length} anchors, stored by none; the anchors counted ${counted} forgeries`)
    } finally {
      await liar.stop()
    }
  }, 60_000)

  it('when one operator is lost entirely, its peers re-join the peered fleets within 30 s and are reachable again', async () => {
    const lost = federation.operators[2] as OperatorFleet
    const lostAnchors = lost.pins
    const killedAt = Date.now()
    await federation.kill(lost.name)
    const rejoinMs: number[] = []
    await Promise.all(peersOf(lost).map(async peer => {
      const elsewhere = (): boolean => peer.circuitAddresses().some(a => !lostAnchors.some(id => a.includes(id)))
      await eventually(() => elsewhere() ? true : undefined, 30_000, `peer ${peer.peerId} re-joined another operator's fleet`)
      rejoinMs.push(Date.now() - killedAt)
    }))
    console.log(`peers of the lost operator re-joined after ${rejoinMs.sort((a, b) => a - b).join(', ')} ms`)
    const failures: string[] = []
    for (const from of federation.operators.filter(o => o !== lost).flatMap(o => peersOf(o))) {
      for (const to of peersOf(lost)) {
        try {
          await eventually(async () => {
            try {
              await from.send(to.peerId, new TextEncoder().encode('welcome back'))
              return true
            } catch {
              return undefined
            }
          }, 20_000, `${from.peerId} reaches ${to.peerId}`)
        } catch (err) {
          failures.push((err as Error).message)
        }
      }
    }
    expect(failures).toEqual([])
  }, 120_000)
})

async function sumOver (anchors: readonly AnchorChild[], sample: string): Promise<number> {
  let sum = 0
  for (const anchor of anchors.filter(a => a.running)) {
    const text = await freshSnapshot(anchor.url('/metrics'))
    const line = text.split('\n').find(l => l.startsWith(`${sample} `))
    if (line == null) throw new Error(`metric ${sample} not exported by ${anchor.peerId}`)
    sum += Number(line.slice(sample.length + 1))
  }
  return sum
}
