import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createLogger } from '../logging/logger.js'
import { RecordPublisher } from './record-publisher.js'
import type { PublisherNode } from './record-publisher.js'
import type { IdentifyResult, PeerId, PrivateKey } from '@libp2p/interface'

const REFRESH_MS = 20 * 60_000

/** One reserved peer as the anchor sees it: its signed record in the peer store, its answers to identify. */
interface FakePeer {
  readonly key: PrivateKey
  readonly id: PeerId
  envelope?: Uint8Array
  /** What it answers when asked to identify (undefined: the record it has). */
  answer?: Uint8Array
}

/** The anchor's libp2p node as the publisher sees it, counting identify asks and DHT puts. */
interface FakeNodeInit {
  readonly storedBy: number
  /** Each put waits for this before it answers. */
  readonly gate?: () => Promise<void>
}

function fakeNode (anchor: PeerId, peer: FakePeer, init: FakeNodeInit): PublisherNode & { asks: number, gets: number, puts: Uint8Array[], putsAtOnce: number, push: (envelope: Uint8Array) => void } {
  const listeners = new Set<(event: CustomEvent<IdentifyResult>) => void>()
  let running = 0
  const identified = (): void => {
    for (const listener of listeners) listener(new CustomEvent('peer:identify', { detail: { peerId: peer.id } as unknown as IdentifyResult }))
  }
  const node = {
    peerId: anchor,
    asks: 0,
    gets: 0,
    puts: [] as Uint8Array[],
    /** The most puts that ran at the same time. */
    putsAtOnce: 0,
    peerStore: { get: async () => { node.gets++; return await Promise.resolve({ peerRecordEnvelope: peer.envelope }) } } as unknown as PublisherNode['peerStore'],
    getConnections: () => [{}],
    services: {
      dht: {
        async * put (_key: Uint8Array, value: Uint8Array) {
          node.puts.push(value)
          running++
          node.putsAtOnce = Math.max(node.putsAtOnce, running)
          try {
            await (init.gate?.() ?? Promise.resolve())
            for (let i = 0; i < init.storedBy; i++) yield { name: 'PEER_RESPONSE', messageName: 'PUT_VALUE' }
          } finally {
            running--
          }
        }
      },
      identify: {
        identify: async () => {
          await Promise.resolve()
          node.asks++
          if (peer.answer != null) peer.envelope = peer.answer
          identified()
          return {} as unknown as IdentifyResult
        }
      }
    },
    addEventListener: (_type: 'peer:identify', listener: (event: CustomEvent<IdentifyResult>) => void) => { listeners.add(listener) },
    removeEventListener: (_type: 'peer:identify', listener: (event: CustomEvent<IdentifyResult>) => void) => { listeners.delete(listener) },
    /** The peer pushes a new record (identify push). */
    push: (envelope: Uint8Array) => { peer.envelope = envelope; identified() }
  }
  return node
}

async function record (peer: FakePeer, addresses: string[]): Promise<Uint8Array> {
  const signed = new PeerRecord({ peerId: peer.id, multiaddrs: addresses.map(a => multiaddr(a)), seqNumber: BigInt(Date.now()) })
  return (await RecordEnvelope.seal(signed, peer.key)).marshal()
}

async function setup (storedBy: number, gate?: () => Promise<void>): Promise<{ publisher: RecordPublisher, node: ReturnType<typeof fakeNode>, peer: FakePeer, circuit: string }> {
  const anchorKey = await generateKeyPair('Ed25519')
  const anchor = peerIdFromPrivateKey(anchorKey)
  const key = await generateKeyPair('Ed25519')
  const peer: FakePeer = { key, id: peerIdFromPrivateKey(key) }
  const circuit = `/ip4/192.0.2.1/tcp/4001/p2p/${anchor.toString()}/p2p-circuit`
  const node = fakeNode(anchor, peer, { storedBy, ...(gate != null ? { gate } : {}) })
  const publisher = new RecordPublisher({ refreshMs: REFRESH_MS, concurrency: 4, timeoutMs: 30_000 },
    { node, isReserved: () => true, onPublished: () => {}, log: createLogger('silent') })
  publisher.start()
  return { publisher, node, peer, circuit }
}

/** {@link setup}, with a peer that reserved and whose record already names the circuit. */
async function setupReserved (storedBy: number, gate?: () => Promise<void>): ReturnType<typeof setup> {
  const fixture = await setup(storedBy, gate)
  fixture.peer.envelope = await record(fixture.peer, [fixture.circuit])
  fixture.publisher.reserved(fixture.peer.id)
  return fixture
}

describe('RecordPublisher', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] }) })
  afterEach(() => { vi.useRealTimers() })

  it('asks a new peer until its record names the circuit, puts it once, and skips the same addresses signed again', async () => {
    const { publisher, node, peer, circuit } = await setup(1)
    peer.envelope = await record(peer, ['/ip4/198.51.100.7/tcp/4001'])
    peer.answer = await record(peer, [circuit])
    publisher.reserved(peer.id)
    await vi.advanceTimersByTimeAsync(150)
    expect({ asks: node.asks, puts: node.puts.length }).toEqual({ asks: 1, puts: 1 })
    await vi.advanceTimersByTimeAsync(1_850)
    // The library's identify push ~2 s later: a new signature over the same addresses.
    node.push(await record(peer, [circuit]))
    await vi.advanceTimersByTimeAsync(15_000)
    expect({ asks: node.asks, puts: node.puts.length }).toEqual({ asks: 1, puts: 1 })
    // New addresses are news: put at once (the last put is more than 10 s old).
    const moved = await record(peer, [circuit, '/ip4/198.51.100.7/tcp/4001'])
    node.push(moved)
    await vi.advanceTimersByTimeAsync(10)
    expect(node.puts).toEqual([peer.answer, moved])
    publisher.stop()
  })

  it('refreshes the latest record every refreshMs, whether or not it changed', async () => {
    const { publisher, node, peer, circuit } = await setupReserved(1)
    await vi.advanceTimersByTimeAsync(2_000)
    const latest = await record(peer, [circuit])
    node.push(latest)
    await vi.advanceTimersByTimeAsync(REFRESH_MS - 60_000)
    expect(node.puts.length).toBe(1)
    await vi.advanceTimersByTimeAsync(90_000)
    expect({ asks: node.asks, puts: node.puts.length, last: node.puts.at(-1) }).toEqual({ asks: 0, puts: 2, last: latest })
    publisher.stop()
  })

  it('tries a put no other anchor took again after a doubling backoff, not at each identify', async () => {
    const { publisher, node, peer, circuit } = await setupReserved(0)
    await vi.advanceTimersByTimeAsync(1_500)
    for (let i = 0; i < 3; i++) {
      node.push(await record(peer, [circuit]))
      await vi.advanceTimersByTimeAsync(5_000)
    }
    expect(node.puts.length).toBe(1)
    // The failure was at 0 s; the loop looks every 30 s: retried at 60 s, then 120 s later, at 180 s.
    await vi.advanceTimersByTimeAsync(80_000)
    expect(node.puts.length).toBe(2)
    await vi.advanceTimersByTimeAsync(70_000)
    expect(node.puts.length).toBe(2)
    await vi.advanceTimersByTimeAsync(30_000)
    expect(node.puts.length).toBe(3)
    publisher.stop()
  })

  it('never runs two puts of one peer at once: a record that comes during a put goes after it', async () => {
    let open = (): void => {}
    const { publisher, node, peer, circuit } = await setupReserved(1, async () => { await new Promise<void>(resolve => { open = resolve }) })
    await vi.advanceTimersByTimeAsync(10)
    const moved = await record(peer, [circuit, '/ip4/198.51.100.7/tcp/4001'])
    node.push(moved)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(node.puts.length).toBe(1)
    open()
    // The newer record waits out the 10 s between puts of one peer, then goes.
    await vi.advanceTimersByTimeAsync(10_000)
    open()
    await vi.advanceTimersByTimeAsync(10)
    expect({ puts: node.puts.length, last: node.puts.at(-1), putsAtOnce: node.putsAtOnce }).toEqual({ puts: 2, last: moved, putsAtOnce: 1 })
    publisher.stop()
  })

  it('sets no ask timers for a renewal, and backs off a refresh that finds no record naming this anchor', async () => {
    const { publisher, node, peer } = await setupReserved(1)
    await vi.advanceTimersByTimeAsync(2_000)
    const timers = vi.getTimerCount()
    publisher.reserved(peer.id)
    expect(vi.getTimerCount()).toBe(timers)
    // The peer's record no longer names this anchor when the refresh comes due.
    node.push(await record(peer, ['/ip4/198.51.100.7/tcp/4001']))
    await vi.advanceTimersByTimeAsync(REFRESH_MS)
    const gets = node.gets
    // Every 30 s tick would read it 10 times in 5 minutes; backing off from 1 min, 3 at most.
    await vi.advanceTimersByTimeAsync(5 * 60_000)
    expect(node.gets - gets).toBeLessThanOrEqual(3)
    expect(node.puts.length).toBe(1)
    publisher.stop()
  })
})
