import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MeganetPeer, fileBootstrapCache } from '../../node-image/src/peer/index.js'
import { eventually } from '../helpers/anchor-process.js'
import type { AnchorProcess } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { freePort } from '../helpers/ports.js'
import { fleetAnchor } from '../coordination/fleet.js'
import { LyingDhtNode } from './lying-dht-node.js'

/**
 * Three operators on one machine: each its own nats-server and fleet, no NATS link between
 * them, peered only through `peering` (signed bootstrap lists, pinned PeerIds) and libp2p.
 */
const OPERATORS = ['north', 'south', 'east'] as const
const ANCHORS_PER_FLEET = 2
const PEERS_PER_FLEET = 2

interface Operator {
  readonly name: string
  readonly nats: TestNats
  readonly anchors: AnchorProcess[]
  /** Known before the anchors start (keys made here, ports chosen here), so every fleet can peer with every other. */
  readonly plan: Array<{ dataDir: string, peerId: string, httpPort: number }>
  readonly peers: MeganetPeer[]
}

const bootstrapUrl = (plan: Operator['plan'][number]): string => `http://127.0.0.1:${plan.httpPort}/bootstrap`

interface PeeringView { peering: Array<{ anchors: number, connected: number, verifiedAt: number | null, lastError: string | null }> }

describe('one network across independent operators', () => {
  const operators: Operator[] = []
  const work: string[] = []

  beforeAll(async () => {
    for (const name of OPERATORS) {
      const plan: Operator['plan'] = []
      for (let i = 0; i < ANCHORS_PER_FLEET; i++) {
        const dataDir = await mkdtemp(join(tmpdir(), `meganet-${name}-`))
        work.push(dataDir)
        const key = await generateKeyPair('Ed25519')
        await writeFile(join(dataDir, 'identity.key'), privateKeyToProtobuf(key), { mode: 0o600 })
        plan.push({ dataDir, peerId: peerIdFromPrivateKey(key).toString(), httpPort: await freePort() })
      }
      operators.push({ name, nats: await TestNats.start(), anchors: [], plan, peers: [] })
    }
    await Promise.all(operators.map(async operator => {
      // Each fleet peers with the other two: their first anchor's list URL, pinned by all their anchors' PeerIds.
      const peering = operators.filter(o => o !== operator)
        .map(o => `${bootstrapUrl(o.plan[0]!)}#${o.plan.map(p => p.peerId).join('+')}`).join(',')
      for (const plan of operator.plan) {
        operator.anchors.push(await fleetAnchor(operator.nats.url, operator.name, {
          peering,
          'peering-refresh': '2s',
          'http-port': String(plan.httpPort),
          // Every peer here comes from 127.0.0.1: the per-network cap (4 circuits to one peer) would bite.
          'relay-max-circuits-per-prefix-to-peer': '0'
        }, plan.dataDir))
      }
    }))
    // Every anchor has verified both peered lists and is connected into both fleets.
    for (const anchor of operators.flatMap(o => o.anchors)) {
      let last: PeeringView['peering'] = []
      await eventually(async () => {
        last = (await anchor.json<PeeringView>('/status')).peering
        return last.length === 2 && last.every(p => p.verifiedAt != null && p.connected > 0 && p.anchors === ANCHORS_PER_FLEET) ? true : undefined
      }, 30_000, `anchor ${anchor.peerId} peered`).catch(err => { throw new Error(`${(err as Error).message}: ${JSON.stringify(last)}`) })
    }
    for (const operator of operators) {
      const cacheDir = await mkdtemp(join(tmpdir(), `meganet-peer-${operator.name}-`))
      work.push(cacheDir)
      for (let i = 0; i < PEERS_PER_FLEET; i++) {
        await mkdir(join(cacheDir, String(i)))
        const peer = await MeganetPeer.create({
          bootstrapUrl: bootstrapUrl(operator.plan[i % ANCHORS_PER_FLEET]!),
          trustedAnchors: operator.plan.map(p => p.peerId),
          bootstrapCache: fileBootstrapCache(join(cacheDir, String(i), 'bootstrap.json')),
          allowPrivateAddresses: true,
          reconnect: { initialBackoffMs: 250, maxBackoffMs: 2_000 }
        })
        operator.peers.push(peer)
        await peer.start()
      }
    }
    // A peer is findable across operators once an anchor has put its signed record into the DHT.
    const joined = Date.now()
    const peerCount = OPERATORS.length * PEERS_PER_FLEET
    await eventually(async () => await sumOver(operators.flatMap(o => o.anchors), 'meganet_dht_peer_records_published_total{result="stored"}') >= peerCount ? true : undefined,
      10_000, 'every peer\'s record published')
    console.log(`records of ${peerCount} peers published ${Date.now() - joined} ms after the last peer joined`)
  }, 180_000)

  afterAll(async () => {
    await Promise.all(operators.flatMap(o => o.peers).map(async p => await p.stop().catch(() => {})))
    await Promise.all(operators.flatMap(o => o.anchors).map(async a => await a.cleanup()))
    await Promise.all(operators.map(async o => await o.nats.cleanup()))
    await Promise.all(work.map(async dir => await rm(dir, { recursive: true, force: true })))
  })

  it('puts each fleet\'s peered fleets, as they signed their lists, into its own signed list', async () => {
    const list = await (await fetch(bootstrapUrl(operators[0]!.plan[0]!))).json() as { payload: string }
    const payload = JSON.parse(list.payload) as { peered?: Array<{ pins: string[], list: { signer: string } }> }
    expect(payload.peered?.map(p => p.list.signer).sort()).toEqual([operators[1]!.plan[0]!.peerId, operators[2]!.plan[0]!.peerId].sort())
  })

  it('every peer finds and messages every other, across operators through the DHT directory', async () => {
    const peers = operators.flatMap(o => o.peers.map(peer => ({ peer, operator: o.name })))
    const received = new Map<string, string[]>()
    for (const { peer } of peers) peer.onMessage(m => { received.set(peer.peerId, [...(received.get(peer.peerId) ?? []), new TextDecoder().decode(m.data)]) })
    const failures: string[] = []
    const vias = new Map<string, number>()
    for (const from of peers) {
      for (const to of peers) {
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
    for (const { peer } of peers) expect(received.get(peer.peerId)?.length).toBe(peers.length - 1)
  }, 120_000)

  it('a lying DHT node\'s forged records redirect no peer, and the anchors count them', async () => {
    const victim = operators[0]!.peers[0]!
    const asker = operators[1]!.peers[0]!
    const liar = await LyingDhtNode.start({ forgeFor: victim.peerId })
    try {
      await liar.connect(operators.flatMap(o => o.anchors).map(a => a.tcpAddress))
      const before = await sumOver(operators.flatMap(o => o.anchors), 'meganet_dht_peer_records_rejected_total{reason="wrong-peer"}')
      // Lookups walk to the anchors closest to the victim's key, the liar among them; it answers
      // with its forgery. A lookup stops once two anchors gave a valid record, so the liar's answer
      // is read only when it comes early enough: look up until it has been, and check every answer.
      let lookups = 0
      await eventually(async () => {
        lookups++
        const found = await asker.locate(victim.peerId)
        expect(found.multiaddrs.map(a => a.toString()).every(a => !a.includes(liar.peerId))).toBe(true)
        await asker.send(victim.peerId, new TextEncoder().encode('still you?'))
        return (await sumOver(operators.flatMap(o => o.anchors), 'meganet_dht_peer_records_rejected_total{reason="wrong-peer"}')) > before ? true : undefined
      }, 20_000, 'forgeries counted')
      expect(liar.served).toBeGreaterThan(0)
      console.log(`the liar served its forgery ${liar.served} times in ${lookups} lookups; no peer was redirected`)
    } finally {
      await liar.stop()
    }
  }, 60_000)

  it('when one operator is lost entirely, its peers re-join the peered fleets within 30 s and are reachable again', async () => {
    const lost = operators[2]!
    const others = operators.filter(o => o !== lost)
    const lostAnchors = new Set(lost.plan.map(p => p.peerId))
    const killedAt = Date.now()
    await Promise.all(lost.anchors.map(async a => await a.stop('SIGKILL')))
    await lost.nats.stop('SIGKILL')
    const rejoinMs: number[] = []
    await Promise.all(lost.peers.map(async peer => {
      const elsewhere = (): boolean => peer.circuitAddresses().some(a => ![...lostAnchors].some(id => a.includes(id)))
      await eventually(() => elsewhere() ? true : undefined, 30_000, `peer ${peer.peerId} re-joined another operator's fleet`)
      rejoinMs.push(Date.now() - killedAt)
    }))
    expect(Math.max(...rejoinMs)).toBeLessThanOrEqual(30_000)
    const failures: string[] = []
    for (const from of others.flatMap(o => o.peers)) {
      for (const to of lost.peers) {
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

async function sumOver (anchors: readonly AnchorProcess[], sample: string): Promise<number> {
  let sum = 0
  for (const anchor of anchors) {
    if (!anchor.anchor.running) continue
    sum += await anchor.metric(sample)
  }
  return sum
}
