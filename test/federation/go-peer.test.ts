import { mkdtemp, rm, writeFile } from 'node:fs/promises'
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
import { GoHoldingPeer, goRelayBinary } from './go-holding-peer.js'

/**
 * Two operators, each its own nats-server and fleet, peered only through `peering`: a
 * go-libp2p peer holding a reservation on one operator's anchor is found, through the DHT
 * directory, by a js peer of the other operator's fleet, and answers its ping.
 */
const OPERATORS = ['west', 'east'] as const
const ANCHORS_PER_FLEET = 2
const PUBLISHED = 'meganet_dht_peer_records_published_total{result="stored"}'
const CIRCUITS_OPENED = 'meganet_relay_circuits_opened_total'
/** How long the go peer's record may take to reach the DHT once it holds its reservation. */
const PUBLISH_WAIT_MS = 20_000

interface Operator {
  readonly name: string
  readonly nats: TestNats
  readonly anchors: AnchorProcess[]
  readonly plan: Array<{ dataDir: string, peerId: string, httpPort: number }>
}

const bootstrapUrl = (plan: Operator['plan'][number]): string => `http://127.0.0.1:${plan.httpPort}/bootstrap`

interface PeeringView { peering: Array<{ anchors: number, connected: number, verifiedAt: number | null }> }

describe('a go-libp2p peer holding a reservation is found across operators through the DHT', () => {
  const operators: Operator[] = []
  const work: string[] = []
  let goPeer: GoHoldingPeer | undefined
  let jsPeer: MeganetPeer | undefined
  /** When the go peer printed that its signed record names its circuit address. */
  let holdingAt = 0

  beforeAll(async () => {
    goRelayBinary() // the first run builds it (about 1.5 min cold): before any process is up
    for (const name of OPERATORS) {
      const plan: Operator['plan'] = []
      for (let i = 0; i < ANCHORS_PER_FLEET; i++) {
        const dataDir = await mkdtemp(join(tmpdir(), `meganet-${name}-`))
        work.push(dataDir)
        const key = await generateKeyPair('Ed25519')
        await writeFile(join(dataDir, 'identity.key'), privateKeyToProtobuf(key), { mode: 0o600 })
        plan.push({ dataDir, peerId: peerIdFromPrivateKey(key).toString(), httpPort: await freePort() })
      }
      operators.push({ name, nats: await TestNats.start(), anchors: [], plan })
    }
    await Promise.all(operators.map(async operator => {
      const other = operators.find(o => o !== operator)!
      const peering = `${bootstrapUrl(other.plan[0]!)}#${other.plan.map(p => p.peerId).join('+')}`
      for (const plan of operator.plan) {
        operator.anchors.push(await fleetAnchor(operator.nats.url, operator.name, {
          peering,
          'peering-refresh': '2s',
          'http-port': String(plan.httpPort)
        }, plan.dataDir))
      }
    }))
    for (const anchor of operators.flatMap(o => o.anchors)) {
      let last: PeeringView['peering'] = []
      await eventually(async () => {
        last = (await anchor.json<PeeringView>('/status')).peering
        return last.length === 1 && last.every(p => p.verifiedAt != null && p.connected > 0 && p.anchors === ANCHORS_PER_FLEET) ? true : undefined
      }, 30_000, `anchor ${anchor.peerId} peered`).catch(err => { throw new Error(`${(err as Error).message}: ${JSON.stringify(last)}`) })
    }
    const [west, east] = operators as [Operator, Operator]
    const holder = west.anchors[0]!
    const before = await holder.metric(PUBLISHED)
    goPeer = await GoHoldingPeer.start({ relays: [holder.tcpAddress] })
    holdingAt = Date.now()
    await eventually(async () => await holder.metric(PUBLISHED) > before ? true : undefined, PUBLISH_WAIT_MS, 'the go peer\'s record published')
      .catch(err => { throw new Error(`${(err as Error).message}\ngo peer:\n${goPeer?.logs.join('\n')}\nanchor ${holder.peerId}:\n${holder.logs.slice(-40).join('\n')}`) })
    console.log(`go peer ${goPeer.peerId}: record published ${Date.now() - holdingAt} ms after it held its reservation`)

    const cacheDir = await mkdtemp(join(tmpdir(), 'meganet-peer-east-'))
    work.push(cacheDir)
    jsPeer = await MeganetPeer.create({
      bootstrapUrl: bootstrapUrl(east.plan[0]!),
      trustedAnchors: east.plan.map(p => p.peerId),
      bootstrapCache: fileBootstrapCache(join(cacheDir, 'bootstrap.json')),
      allowPrivateAddresses: true,
      reconnect: { initialBackoffMs: 250, maxBackoffMs: 2_000 }
    })
    await jsPeer.start()
  }, 300_000)

  afterAll(async () => {
    await jsPeer?.stop().catch(() => {})
    await goPeer?.stop()
    await Promise.all(operators.flatMap(o => o.anchors).map(async a => await a.cleanup()))
    await Promise.all(operators.map(async o => await o.nats.cleanup()))
    await Promise.all(work.map(async dir => await rm(dir, { recursive: true, force: true })))
  })

  it('a js peer of the other operator locates it by its own signed record, at its circuit address', async () => {
    const started = Date.now()
    const found = await jsPeer!.locate(goPeer!.peerId)
    console.log(`located via ${found.via} in ${Date.now() - started} ms (${Date.now() - holdingAt} ms after the go peer held its reservation): ${found.multiaddrs.join(' ')}`)
    expect(found.via).toBe('dht')
    // The go peer's record names just the reservation it holds (it listens on nothing), as go-libp2p signed it.
    const holder = operators[0]!.anchors[0]!
    expect(found.multiaddrs.map(a => a.toString())).toEqual([`${holder.tcpAddress}/p2p-circuit/p2p/${goPeer!.peerId}`])
  })

  it('and reaches it through that anchor: go-libp2p\'s ping service answers', async () => {
    const holder = operators[0]!.anchors[0]!
    const circuits = await holder.metric(CIRCUITS_OPENED)
    const result = await jsPeer!.ping(goPeer!.peerId)
    console.log(`ping ${goPeer!.peerId}: ${result.rttMs.toFixed(1)} ms, ${result.path}`)
    expect(result.path).toBe('relayed')
    expect(result.rttMs).toBeGreaterThan(0)
    expect(await holder.metric(CIRCUITS_OPENED)).toBeGreaterThan(circuits)
  })
})
