import { generateKeyPair } from '@libp2p/crypto/keys'
import { StreamAbortEvent, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { multiaddr } from '@multiformats/multiaddr'
import { Registry } from 'prom-client'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { AnchorMetrics } from '../metrics/anchor-metrics.js'
import { IDLE_CIRCUIT_BYTES, RelayGuard } from './relay-guard.js'
import type { RelayGuardInit, RelayView } from './relay-guard.js'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Connection, PeerId, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Counter } from 'prom-client'

/** A stream as the guard sees it: it receives ('message' events), sends and closes. */
class FakeStream extends EventTarget {
  readonly protocol: string
  readonly direction: 'inbound' | 'outbound'
  /** What reached the wire through `send`. */
  readonly sent: Uint8Array[] = []
  aborted?: Error

  constructor (protocol: string, direction: 'inbound' | 'outbound') {
    super()
    this.protocol = protocol
    this.direction = direction
  }

  send (data: Uint8Array): boolean {
    this.sent.push(data)
    return true
  }

  /** Data from the remote end, dispatched the way a libp2p stream does. */
  receive (data: Uint8Array): boolean {
    return this.dispatchEvent(new StreamMessageEvent(data))
  }

  abort (error: Error): void {
    this.aborted = error
    this.dispatchEvent(new StreamAbortEvent(error))
  }

  close (error?: Error): void {
    this.dispatchEvent(new StreamCloseEvent(false, error))
  }
}

interface FakeConnection {
  readonly remotePeer: PeerId
  readonly remoteAddr: Multiaddr
  readonly streams: FakeStream[]
}

/** A stream on `connection`, listed among its streams until it closes. */
function openStream (connection: FakeConnection, protocol: string, direction: 'inbound' | 'outbound'): FakeStream {
  const stream = new FakeStream(protocol, direction)
  connection.streams.push(stream)
  stream.addEventListener('close', () => { connection.streams.splice(connection.streams.indexOf(stream), 1) }, { once: true })
  return stream
}

interface FakeReservation {
  cleared: boolean
  readonly signal: { clear: () => void }
}

/** The relay server's reservation store (a PeerMap): keyed by the PeerId's string. */
class FakeReservations {
  private readonly entries = new Map<string, { peer: PeerId, reservation: FakeReservation }>()

  has (peer: PeerId): boolean { return this.entries.has(peer.toString()) }
  get (peer: PeerId): FakeReservation | undefined { return this.entries.get(peer.toString())?.reservation }
  delete (peer: PeerId): boolean { return this.entries.delete(peer.toString()) }
  keys (): IterableIterator<PeerId> { return [...this.entries.values()].map(e => e.peer)[Symbol.iterator]() }
  get size (): number { return this.entries.size }

  set (peer: PeerId): FakeReservation {
    const reservation: FakeReservation = { cleared: false, signal: { clear: () => { reservation.cleared = true } } }
    this.entries.set(peer.toString(), { peer, reservation })
    return reservation
  }
}

/** The part of a running libp2p node the guard reads: its connections and the relay's reservations. */
class FakeNode {
  readonly reservations = new FakeReservations()
  readonly connections: FakeConnection[] = []

  connect (peer: PeerId, address: string): FakeConnection {
    const connection: FakeConnection = { remotePeer: peer, remoteAddr: multiaddr(address), streams: [] }
    this.connections.push(connection)
    return connection
  }

  view (): RelayView {
    return {
      relay: { reservations: this.reservations } as unknown as CircuitRelayService,
      getConnections: peer => (peer == null ? this.connections : this.connections.filter(c => c.remotePeer.equals(peer))) as unknown as Connection[]
    }
  }
}

class FakeRegistrar {
  readonly handlers = new Map<string, { handler: StreamHandler, options?: StreamHandlerOptions }>()

  async handle (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void> {
    this.handlers.set(protocol, { handler, ...(options != null ? { options } : {}) })
    await Promise.resolve()
  }

  getProtocols (): string[] {
    return [...this.handlers.keys()]
  }
}

/** The gater's hooks may return promises in general; the guard's answer is always immediate. */
function decided (answer: boolean | Promise<boolean> | undefined): boolean {
  if (typeof answer !== 'boolean') throw new Error('expected an immediate decision')
  return answer
}

/** A counter's value, summed over the series that carry `labels`. */
async function valueOf<T extends string> (counter: Counter<T>, labels: Partial<Record<T, string>> = {}): Promise<number> {
  const { values } = await counter.get()
  return values
    .filter(v => Object.entries(labels).every(([name, value]) => v.labels[name as T] === value))
    .reduce((sum, v) => sum + v.value, 0)
}

function varint (value: number): number[] {
  const bytes: number[] = []
  for (; value >= 0x80; value >>>= 7) bytes.push((value & 0x7f) | 0x80)
  bytes.push(value)
  return bytes
}

/**
 * The first frame of a CONNECT hop stream: length, then HopMessage { type: CONNECT, peer: { id, addrs } }
 * (`addresses` multiaddrs of 9 bytes each, as a client may list).
 */
function connectFrame (destination: PeerId, addresses = 0): Uint8Array {
  const id = destination.toMultihash().bytes
  const addr = [0x04, 203, 0, 113, 1, 0x06, 0x0f, 0xa1] // /ip4/203.0.113.1/tcp/4001
  const peer = [0x0a, ...varint(id.byteLength), ...id, ...Array.from({ length: addresses }, () => [0x12, addr.length, ...addr]).flat()]
  const message = [0x08, 1, 0x12, ...varint(peer.length), ...peer]
  return Uint8Array.from([...varint(message.length), ...message])
}

/** The first frame of a RESERVE hop stream: HopMessage { type: RESERVE }. */
const RESERVE_FRAME = Uint8Array.of(2, 0x08, 0)

const caps: RelayGuardInit = {
  maxReservations: 10,
  maxReservationsPerIp: 2,
  maxReservationsPerPrefix: 3,
  maxCircuitsPerPeer: 3,
  maxCircuitsPerPair: 1,
  maxCircuitsPerPrefixToPeer: 2,
  circuitIdleTimeout: null
}

let peers: PeerId[] = []

/** The i-th of a set of real PeerIds (a CONNECT frame carries the destination's multihash). */
function peer (i: number): PeerId {
  const id = peers[i]
  if (id == null) throw new Error(`no peer ${i}`)
  return id
}

/**
 * A guard attached to a fake node, with the relay's hop handler registered through the
 * guard's accounting registrar, as the anchor wires it.
 */
async function setup (overrides: Partial<RelayGuardInit> = {}) {
  const init = { ...caps, ...overrides }
  const metrics = new AnchorMetrics(new Registry(), 'test')
  const guard = new RelayGuard(init, metrics)
  const node = new FakeNode()
  guard.attach(node.view())
  const registrar = new FakeRegistrar()
  const relayed: Array<{ stream: Stream, connection: Connection }> = []
  await guard.accountingRegistrar(registrar as unknown as Registrar)
    .handle(RELAY_PROTOCOLS.hop, (stream, connection) => { relayed.push({ stream, connection }) })
  const hop = registrar.handlers.get(RELAY_PROTOCOLS.hop)?.handler
  if (hop == null) throw new Error('the hop handler was not registered')
  const reserved: string[] = []
  const released: string[] = []
  guard.addEventListener('reserved', event => { reserved.push(event.detail.toString()) })
  guard.addEventListener('released', event => { released.push(event.detail.toString()) })

  /** What the relay does on RESERVE: ask the gater, then record the reservation unless its store is full. */
  const reserve = (id: PeerId): boolean => {
    const denied = decided(guard.gater.denyInboundRelayReservation?.(id))
    if (!denied && (node.reservations.has(id) || node.reservations.size < init.maxReservations)) node.reservations.set(id)
    return !denied
  }

  /**
   * What the relay does on CONNECT: a hop stream arrives, its first frame is read, then the gater
   * is asked. `frame` as the client sends it, in `pieces` messages.
   */
  const requestCircuit = async (from: FakeConnection, destination: PeerId, frame = connectFrame(destination), pieces = 1): Promise<{ stream: FakeStream, admitted: boolean }> => {
    const stream = openStream(from, RELAY_PROTOCOLS.hop, 'inbound')
    await hop(stream as unknown as Stream, from as unknown as Connection)
    const size = Math.ceil(frame.byteLength / pieces)
    for (let at = 0; at < frame.byteLength; at += size) stream.receive(frame.subarray(at, at + size))
    const admitted = !decided(guard.gater.denyOutboundRelayedConnection?.(from.remotePeer, destination))
    return { stream, admitted }
  }

  return { guard, metrics, node, registrar, hop, relayed, reserved, released, reserve, requestCircuit }
}

beforeAll(async () => {
  peers = await Promise.all(Array.from({ length: 8 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
})

describe('RelayGuard', () => {
  describe('before it is attached to a node', () => {
    it('refuses every reservation and circuit, and reports nothing reserved or open', () => {
      const guard = new RelayGuard(caps, new AnchorMetrics(new Registry(), 'test'))
      expect(decided(guard.gater.denyInboundRelayReservation?.(peer(0)))).toBe(true)
      expect(decided(guard.gater.denyOutboundRelayedConnection?.(peer(0), peer(1)))).toBe(true)
      expect(guard.reservedPeers()).toEqual([])
      expect(guard.reservationCount()).toBe(0)
      expect(guard.openCircuits()).toBe(0)
    })
  })

  describe('reservations', () => {
    it('admits a reservation, counts it and announces the peer as reserved', async () => {
      const { guard, metrics, node, reserve, reserved } = await setup()
      node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      expect(reserve(peer(0))).toBe(true)
      expect(await valueOf(metrics.reservationsAccepted)).toBe(1)
      expect(await valueOf(metrics.reservationsRefused)).toBe(0)
      expect(reserved).toEqual([peer(0).toString()])
      expect(guard.reservationCount()).toBe(1)
      expect(guard.reservedPeers().map(String)).toEqual([peer(0).toString()])
    })

    it('refuses a host that holds its share of reservations, but not the next address in its network', async () => {
      const { metrics, node, reserve, reserved } = await setup({ maxReservationsPerIp: 2 })
      for (const i of [0, 1, 2]) node.connect(peer(i), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(3), '/ip4/198.51.100.2/tcp/4001')
      expect([0, 1, 2, 3].map(i => reserve(peer(i)))).toEqual([true, true, false, true])
      expect(await valueOf(metrics.reservationsRefused, { reason: 'per_ip' })).toBe(1)
      expect(await valueOf(metrics.reservationsAccepted)).toBe(3)
      expect(reserved).not.toContain(peer(2).toString())
    })

    it('counts every address of one IPv6 /64 as one host', async () => {
      const { metrics, node, reserve } = await setup({ maxReservationsPerIp: 1 })
      node.connect(peer(0), '/ip6/2001:db8:0:1::1/tcp/4001')
      node.connect(peer(1), '/ip6/2001:db8:0:1:ffff::2/tcp/4001')
      node.connect(peer(2), '/ip6/2001:db8:0:2::1/tcp/4001')
      expect([0, 1, 2].map(i => reserve(peer(i)))).toEqual([true, false, true])
      expect(await valueOf(metrics.reservationsRefused, { reason: 'per_ip' })).toBe(1)
    })

    it('refuses a network (/24) that holds its share of reservations, and admits another network', async () => {
      const { metrics, node, reserve } = await setup({ maxReservationsPerIp: 2, maxReservationsPerPrefix: 3 })
      node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/198.51.100.1/tcp/4002')
      node.connect(peer(2), '/ip4/198.51.100.2/tcp/4001')
      node.connect(peer(3), '/ip4/198.51.100.3/tcp/4001')
      node.connect(peer(4), '/ip4/198.51.101.3/tcp/4001')
      expect([0, 1, 2, 3, 4].map(i => reserve(peer(i)))).toEqual([true, true, true, false, true])
      expect(await valueOf(metrics.reservationsRefused, { reason: 'per_prefix' })).toBe(1)
      expect(await valueOf(metrics.reservationsRefused, { reason: 'per_ip' })).toBe(0)
    })

    it('leaves a reservation past capacity for the relay store to refuse, and counts it as refused', async () => {
      const { guard, metrics, node, reserved } = await setup({ maxReservations: 2, maxReservationsPerIp: 0, maxReservationsPerPrefix: 0 })
      for (const i of [0, 1]) {
        node.connect(peer(i), '/ip4/198.51.100.1/tcp/4001')
        expect(decided(guard.gater.denyInboundRelayReservation?.(peer(i)))).toBe(false)
        node.reservations.set(peer(i))
      }
      node.connect(peer(2), '/ip4/203.0.113.1/tcp/4001')
      // false: the relay's own store then answers RESERVATION_REFUSED, the status the spec gives.
      expect(decided(guard.gater.denyInboundRelayReservation?.(peer(2)))).toBe(false)
      expect(await valueOf(metrics.reservationsRefused, { reason: 'capacity' })).toBe(1)
      expect(await valueOf(metrics.reservationsAccepted)).toBe(2)
      expect(reserved).toEqual([peer(0).toString(), peer(1).toString()])
    })

    it('renews a reservation the peer holds past every cap, and refuses even that while draining', async () => {
      const { guard, metrics, node, reserve, reserved } = await setup({ maxReservations: 1, maxReservationsPerIp: 1 })
      node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/198.51.100.9/tcp/4001')
      expect(reserve(peer(0))).toBe(true)
      expect(reserve(peer(0))).toBe(true)
      expect(reserved).toEqual([peer(0).toString(), peer(0).toString()])

      guard.drain()
      expect(guard.isDraining).toBe(true)
      expect(reserve(peer(0))).toBe(false)
      expect(reserve(peer(1))).toBe(false)
      expect(await valueOf(metrics.reservationsRefused, { reason: 'draining' })).toBe(2)

      guard.undrain()
      expect(guard.isDraining).toBe(false)
      expect(reserve(peer(0))).toBe(true)
      expect(await valueOf(metrics.reservationsAccepted)).toBe(3)
    })

    it('stops counting a holder against its address once the relay no longer holds its reservation', async () => {
      const { node, reserve } = await setup({ maxReservationsPerIp: 1 })
      node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/198.51.100.1/tcp/4002')
      expect(reserve(peer(0))).toBe(true)
      expect(reserve(peer(1))).toBe(false)
      node.reservations.delete(peer(0)) // expired in the relay's store
      expect(reserve(peer(1))).toBe(true)
    })

    it('counts a holder under the address it renewed from, not the one it first came from', async () => {
      const { node, reserve } = await setup({ maxReservationsPerIp: 1 })
      const first = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/198.51.100.1/tcp/4002')
      node.connect(peer(2), '/ip4/203.0.113.7/tcp/4001')
      expect(reserve(peer(0))).toBe(true)
      node.connections.splice(node.connections.indexOf(first), 1)
      node.connect(peer(0), '/ip4/203.0.113.7/tcp/4002')
      expect(reserve(peer(0))).toBe(true) // a renewal, from the new address
      expect(reserve(peer(1))).toBe(true)
      expect(reserve(peer(2))).toBe(false)
    })

    it('does not lump peers without an IP address together as one host', async () => {
      const { node, reserve } = await setup({ maxReservationsPerIp: 1, maxReservationsPerPrefix: 1 })
      node.connect(peer(0), '/dns4/a.example.com/tcp/4001')
      expect(reserve(peer(0))).toBe(true)
      expect(reserve(peer(1))).toBe(true) // no connection at all
    })
  })

  describe('peers leaving', () => {
    it('frees the reservation of a peer that disconnects, stops its expiry timer and announces the release', async () => {
      const { guard, node, reserve, released } = await setup({ maxReservationsPerIp: 1 })
      node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/198.51.100.1/tcp/4002')
      node.connect(peer(2), '/ip4/203.0.113.1/tcp/4001')
      expect(reserve(peer(0))).toBe(true)
      expect(reserve(peer(2))).toBe(true)
      const reservation = node.reservations.get(peer(0))
      expect(reserve(peer(1))).toBe(false)

      guard.onPeerDisconnect(peer(0))
      expect(reservation?.cleared).toBe(true)
      expect(node.reservations.has(peer(0))).toBe(false)
      expect(guard.reservedPeers().map(String)).toEqual([peer(2).toString()])
      expect(released).toEqual([peer(0).toString()])
      expect(reserve(peer(1))).toBe(true)
    })

    it('announces nothing for a peer that held no reservation, and leaves the others alone', async () => {
      const { guard, node, reserve, released } = await setup()
      node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      expect(reserve(peer(0))).toBe(true)
      guard.onPeerDisconnect(peer(1))
      expect(released).toEqual([])
      expect(guard.reservationCount()).toBe(1)
      expect(node.reservations.get(peer(0))?.cleared).toBe(false)
    })
  })

  describe('circuits', () => {
    it('admits a circuit, counts it as opened and hands its hop stream to the relay', async () => {
      const { metrics, node, relayed, requestCircuit } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const { stream, admitted } = await requestCircuit(source, peer(1))
      expect(admitted).toBe(true)
      expect(await valueOf(metrics.circuitsOpened)).toBe(1)
      expect(await valueOf(metrics.circuitsRefused)).toBe(0)
      expect(relayed).toHaveLength(1)
      expect(relayed[0]?.stream).toBe(stream)
      expect(relayed[0]?.connection).toBe(source)
    })

    it('refuses another circuit from one source to one destination until the open one closes', async () => {
      const { metrics, node, requestCircuit } = await setup({ maxCircuitsPerPair: 1 })
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      node.connect(peer(2), '/ip4/203.0.113.2/tcp/4001')
      const first = await requestCircuit(source, peer(1))
      expect(first.admitted).toBe(true)
      const second = await requestCircuit(source, peer(1))
      expect(second.admitted).toBe(false)
      expect(await valueOf(metrics.circuitsRefused, { reason: 'per_pair' })).toBe(1)
      expect((await requestCircuit(source, peer(2))).admitted).toBe(true)

      second.stream.close()
      first.stream.close()
      expect((await requestCircuit(source, peer(1))).admitted).toBe(true)
      expect(await valueOf(metrics.circuitsOpened)).toBe(3)
    })

    it('keeps the pair cap for a CONNECT that lists many addresses or arrives a byte at a time', async () => {
      const { metrics, node, requestCircuit } = await setup({ maxCircuitsPerPair: 1, maxCircuitsPerPeer: 10 })
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const long = connectFrame(peer(1), 30) // past the first 256 bytes
      expect(long.byteLength).toBeGreaterThan(300)
      expect((await requestCircuit(source, peer(1), long)).admitted).toBe(true)
      expect((await requestCircuit(source, peer(1), long)).admitted).toBe(false)
      expect((await requestCircuit(source, peer(1), connectFrame(peer(1)), connectFrame(peer(1)).byteLength)).admitted).toBe(false)
      expect(await valueOf(metrics.circuitsRefused, { reason: 'per_pair' })).toBe(2)
    })

    it('counts the bytes of a CONNECT that arrived in pieces as relayed', async () => {
      const { metrics, node, requestCircuit } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const frame = connectFrame(peer(1))
      await requestCircuit(source, peer(1), frame, 3)
      expect(await valueOf(metrics.relayedBytes)).toBe(frame.byteLength)
    })

    it('aborts a hop stream whose first frame is longer than any honest request, before buffering it', async () => {
      const { node, requestCircuit } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      const huge = connectFrame(peer(1), 600) // ~6 KiB
      const { stream } = await requestCircuit(source, peer(1), huge, 8)
      expect(stream.aborted?.message).toMatch(/hop request of \d+ bytes is over the 4096-byte limit/)
    })

    it('refuses a source network (/24) that holds its share of circuits to one destination', async () => {
      const { metrics, node, requestCircuit } = await setup({ maxCircuitsPerPair: 0, maxCircuitsPerPrefixToPeer: 2 })
      const near = [0, 1, 2].map(i => node.connect(peer(i), `/ip4/198.51.100.${i + 1}/tcp/4001`))
      const far = node.connect(peer(3), '/ip4/192.0.2.1/tcp/4001')
      node.connect(peer(4), '/ip4/203.0.113.1/tcp/4001')
      node.connect(peer(5), '/ip4/203.0.113.2/tcp/4001')
      const [a, b, c] = near as [FakeConnection, FakeConnection, FakeConnection]
      expect((await requestCircuit(a, peer(4))).admitted).toBe(true)
      expect((await requestCircuit(b, peer(4))).admitted).toBe(true)
      expect((await requestCircuit(c, peer(4))).admitted).toBe(false)
      expect(await valueOf(metrics.circuitsRefused, { reason: 'per_prefix' })).toBe(1)
      expect((await requestCircuit(far, peer(4))).admitted).toBe(true)
      expect((await requestCircuit(c, peer(5))).admitted).toBe(true)
    })

    it('refuses a source or destination already part of its share of circuits, counted from its relay streams', async () => {
      const { metrics, node, requestCircuit } = await setup({ maxCircuitsPerPeer: 3, maxCircuitsPerPair: 0, maxCircuitsPerPrefixToPeer: 0 })
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      const destination = node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      // The source is in two circuits as a source (hop streams in) and one as a destination (stop stream out).
      openStream(source, RELAY_PROTOCOLS.hop, 'inbound')
      openStream(source, RELAY_PROTOCOLS.hop, 'inbound')
      const asDestination = openStream(source, RELAY_PROTOCOLS.stop, 'outbound')
      openStream(source, RELAY_PROTOCOLS.stop, 'inbound') // not relay traffic of this relay's making
      const refused = await requestCircuit(source, peer(1))
      expect(refused.admitted).toBe(false)
      expect(await valueOf(metrics.circuitsRefused, { reason: 'per_peer' })).toBe(1)

      refused.stream.close()
      asDestination.close()
      const admitted = await requestCircuit(source, peer(1))
      expect(admitted.admitted).toBe(true)
      admitted.stream.close()

      // The destination side: three circuits to it already.
      for (let i = 0; i < 3; i++) openStream(destination, RELAY_PROTOCOLS.stop, 'outbound')
      const other = node.connect(peer(2), '/ip4/192.0.2.1/tcp/4001')
      expect((await requestCircuit(other, peer(1))).admitted).toBe(false)
      expect(await valueOf(metrics.circuitsRefused, { reason: 'per_peer' })).toBe(2)
      expect(await valueOf(metrics.circuitsOpened)).toBe(1)
    })

    it('refuses every circuit while draining, and admits again once undrained', async () => {
      const { guard, metrics, node, requestCircuit } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      guard.drain()
      const refused = await requestCircuit(source, peer(1))
      expect(refused.admitted).toBe(false)
      expect(await valueOf(metrics.circuitsRefused, { reason: 'draining' })).toBe(1)
      refused.stream.close()
      guard.undrain()
      expect((await requestCircuit(source, peer(1))).admitted).toBe(true)
    })

    it('reports as open circuits the stop streams the relay opened to destinations', async () => {
      const { guard, node } = await setup()
      const a = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      const b = node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      openStream(a, RELAY_PROTOCOLS.stop, 'outbound')
      const closing = openStream(b, RELAY_PROTOCOLS.stop, 'outbound')
      openStream(b, RELAY_PROTOCOLS.stop, 'inbound')
      openStream(b, RELAY_PROTOCOLS.hop, 'inbound')
      openStream(b, '/ipfs/ping/1.0.0', 'outbound')
      expect(guard.openCircuits()).toBe(2)
      closing.close()
      expect(guard.openCircuits()).toBe(1)
    })
  })

  describe('accounting of hop streams', () => {
    it('wraps the hop handler only, and passes everything else of the registrar through', async () => {
      const guard = new RelayGuard(caps, new AnchorMetrics(new Registry(), 'test'))
      const registrar = new FakeRegistrar()
      const accounting = guard.accountingRegistrar(registrar as unknown as Registrar)
      const hop: StreamHandler = () => {}
      const other: StreamHandler = () => {}
      await accounting.handle(RELAY_PROTOCOLS.hop, hop, { maxInboundStreams: 7 })
      await accounting.handle('/other/1.0.0', other)
      expect(registrar.handlers.get(RELAY_PROTOCOLS.hop)?.handler).not.toBe(hop)
      expect(registrar.handlers.get(RELAY_PROTOCOLS.hop)?.options).toEqual({ maxInboundStreams: 7 })
      expect(registrar.handlers.get('/other/1.0.0')?.handler).toBe(other)
      expect(accounting.getProtocols()).toEqual([RELAY_PROTOCOLS.hop, '/other/1.0.0'])
    })

    it('counts the bytes of a circuit in both directions, from its first frame on, and still delivers them', async () => {
      const { metrics, node, requestCircuit } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const { stream } = await requestCircuit(source, peer(1))
      const frame = connectFrame(peer(1))
      expect(await valueOf(metrics.relayedBytes)).toBe(frame.byteLength)

      const delivered: number[] = []
      stream.addEventListener('message', event => { delivered.push((event as StreamMessageEvent).data.byteLength) })
      expect(stream.receive(new Uint8Array(1000))).toBe(true)
      expect(stream.send(new Uint8Array(300))).toBe(true)
      expect(await valueOf(metrics.relayedBytes)).toBe(frame.byteLength + 1300)
      expect(delivered).toEqual([1000])
      expect(stream.sent.map(d => d.byteLength)).toEqual([300])
    })

    it('counts bytes sent before the first frame once that frame shows a circuit', async () => {
      const { metrics, hop, node } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      const stream = openStream(source, RELAY_PROTOCOLS.hop, 'inbound')
      await hop(stream as unknown as Stream, source as unknown as Connection)
      stream.send(new Uint8Array(40))
      expect(await valueOf(metrics.relayedBytes)).toBe(0)
      stream.receive(connectFrame(peer(1)))
      expect(await valueOf(metrics.relayedBytes)).toBe(40 + connectFrame(peer(1)).byteLength)
    })

    it('counts no bytes of a reservation', async () => {
      const { metrics, hop, node } = await setup()
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      const stream = openStream(source, RELAY_PROTOCOLS.hop, 'inbound')
      await hop(stream as unknown as Stream, source as unknown as Connection)
      stream.receive(RESERVE_FRAME)
      stream.send(new Uint8Array(200))
      stream.receive(new Uint8Array(50))
      expect(await valueOf(metrics.relayedBytes)).toBe(0)
      expect(stream.sent).toHaveLength(1)
    })

    it('counts circuits cut at their data or duration limit, by limit, and no other closes', async () => {
      const { metrics, node, requestCircuit } = await setup({ maxCircuitsPerPair: 0, maxCircuitsPerPeer: 0 })
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const named = (name: string): Error => Object.assign(new Error(name), { name })
      const circuits = await Promise.all([0, 1, 2, 3, 4].map(async () => (await requestCircuit(source, peer(1))).stream))
      circuits[0]?.close(named('TransferLimitError'))
      circuits[1]?.close(named('DurationLimitError'))
      circuits[2]?.close(named('DurationLimitError'))
      circuits[3]?.close(named('StreamResetError'))
      circuits[4]?.close()
      expect(await valueOf(metrics.circuitsClosedByLimit, { limit: 'data' })).toBe(1)
      expect(await valueOf(metrics.circuitsClosedByLimit, { limit: 'duration' })).toBe(2)
      expect(await valueOf(metrics.circuitsClosedByLimit)).toBe(3)
    })
  })

  describe('idle circuits', () => {
    beforeEach(() => { vi.useFakeTimers() })
    afterEach(() => { vi.useRealTimers() })

    it('closes a circuit that moved less than IDLE_CIRCUIT_BYTES over the idle timeout, once, and counts it', async () => {
      const { guard, metrics, node, requestCircuit } = await setup({ circuitIdleTimeout: 1000 })
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const { stream } = await requestCircuit(source, peer(1))
      stream.receive(new Uint8Array(IDLE_CIRCUIT_BYTES / 2))
      await vi.advanceTimersByTimeAsync(999)
      expect(stream.aborted).toBeUndefined()
      await vi.advanceTimersByTimeAsync(1)
      expect(stream.aborted?.name).toBe('IdleCircuitError')
      expect(stream.aborted?.message).toBe('relayed connection idle for 1000 ms')
      expect(source.streams).not.toContain(stream)
      await vi.advanceTimersByTimeAsync(5000)
      expect(await valueOf(metrics.circuitsClosedByLimit, { limit: 'idle' })).toBe(1)
      expect(await valueOf(metrics.circuitsClosedByLimit)).toBe(1)
      guard.stop()
    })

    it('keeps a circuit that moves enough in every window, and never closes a refused request', async () => {
      const { guard, node, requestCircuit } = await setup({ circuitIdleTimeout: 1000, maxCircuitsPerPair: 1 })
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const busy = await requestCircuit(source, peer(1))
      const refused = await requestCircuit(source, peer(1))
      expect(refused.admitted).toBe(false)
      for (let window = 0; window < 3; window++) {
        await vi.advanceTimersByTimeAsync(500)
        busy.stream.send(new Uint8Array(IDLE_CIRCUIT_BYTES / 2))
        busy.stream.receive(new Uint8Array(IDLE_CIRCUIT_BYTES / 2))
        await vi.advanceTimersByTimeAsync(500)
      }
      expect(busy.stream.aborted).toBeUndefined()
      expect(refused.stream.aborted).toBeUndefined()
      // Quiet from now on: closed at the end of the next full window.
      await vi.advanceTimersByTimeAsync(1000)
      expect(busy.stream.aborted?.name).toBe('IdleCircuitError')
      expect(refused.stream.aborted).toBeUndefined()
      guard.stop()
    })

    it('runs one idle check timer while attached with a timeout, none without, and none after stop', async () => {
      const { guard: keeping } = await setup({ circuitIdleTimeout: null })
      expect(vi.getTimerCount()).toBe(0)
      keeping.stop()

      const { guard, node, requestCircuit } = await setup({ circuitIdleTimeout: 1000 })
      guard.attach(node.view())
      expect(vi.getTimerCount()).toBe(1)
      const source = node.connect(peer(0), '/ip4/198.51.100.1/tcp/4001')
      node.connect(peer(1), '/ip4/203.0.113.1/tcp/4001')
      const { stream } = await requestCircuit(source, peer(1))
      guard.stop()
      expect(vi.getTimerCount()).toBe(0)
      await vi.advanceTimersByTimeAsync(10_000)
      expect(stream.aborted).toBeUndefined()
    })
  })
})
