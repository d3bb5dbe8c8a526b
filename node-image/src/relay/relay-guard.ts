import { TypedEventEmitter } from 'main-event'
import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { base58btc } from 'multiformats/bases/base58'
import { ipKeys } from '../net/ip-prefix.js'
import type { AnchorMetrics } from '../metrics/anchor-metrics.js'
import type { RelayCaps } from './relay-policy.js'
import { CircuitTracker } from './circuit-tracker.js'
import { circuitRefusal, reservationRefusal } from './relay-policy.js'
import { ReservationsByIp } from './reservations-by-ip.js'
import type { Connection, ConnectionGater, PeerId, Stream, StreamHandler, StreamMessageEvent } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Multiaddr } from '@multiformats/multiaddr'


/** What the guard reads from the running node. */
export interface RelayView {
  readonly relay: CircuitRelayService
  getConnections: (peer?: PeerId) => Connection[]
}

export function ipOf (address: Multiaddr): string | undefined {
  return address.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}

/** What the guard needs beyond the caps: when an idle circuit is closed. */
export interface RelayGuardInit extends RelayCaps {
  /** A circuit moving fewer than {@link IDLE_CIRCUIT_BYTES} in this long is closed; null keeps it. */
  readonly circuitIdleTimeout: number | null
}

/**
 * Below this many bytes over the idle timeout a circuit counts as idle: libp2p's keepalive
 * (a ping every 10 s, a few hundred bytes each) keeps nothing open.
 */
export const IDLE_CIRCUIT_BYTES = 16 * 1024

class IdleCircuitError extends Error {
  override readonly name = 'IdleCircuitError'
}

function countStreams (connections: Connection[], protocol: string, direction: 'inbound' | 'outbound'): number {
  let count = 0
  for (const connection of connections) {
    for (const stream of connection.streams) {
      if (stream.protocol === protocol && stream.direction === direction) count++
    }
  }
  return count
}

export interface RelayGuardEvents {
  /** A reservation was made or renewed. */
  reserved: CustomEvent<PeerId>
  /** A reservation was freed because its peer left. */
  released: CustomEvent<PeerId>
}

/**
 * Adds what js-libp2p's relay server lacks: reservation caps per IP and per network, circuit
 * caps per peer, per pair and per source network to one destination (so a few hosts cannot
 * fill a victim's slots), idle circuits closed, refusal while draining, reservations freed when
 * their peer disconnects, and accounting of relayed bytes and limit cut-offs. It plugs in
 * through libp2p's own hooks: the connection gater (which the relay consults) and the registrar
 * the relay registers its hop handler with.
 */
export class RelayGuard extends TypedEventEmitter<RelayGuardEvents> {
  private readonly caps: RelayGuardInit
  private readonly metrics: AnchorMetrics
  private view?: RelayView
  private draining = false
  private readonly byIp = new ReservationsByIp<PeerId>()
  private readonly byPrefix = new ReservationsByIp<PeerId>()
  private readonly circuits = new CircuitTracker()
  private idleTimer?: NodeJS.Timeout

  constructor (caps: RelayGuardInit, metrics: AnchorMetrics) {
    super()
    this.caps = caps
    this.metrics = metrics
  }

  attach (view: RelayView): void {
    this.view = view
    const timeout = this.caps.circuitIdleTimeout
    if (timeout != null && this.idleTimer == null) {
      this.idleTimer = setInterval(() => { this.closeIdleCircuits(timeout) }, Math.max(250, Math.min(10_000, Math.floor(timeout / 4))))
      this.idleTimer.unref()
    }
  }

  stop (): void {
    clearInterval(this.idleTimer)
    this.idleTimer = undefined
  }

  private closeIdleCircuits (timeoutMs: number): void {
    for (const stream of this.circuits.idle(timeoutMs, IDLE_CIRCUIT_BYTES, Date.now())) {
      this.metrics.circuitsClosedByLimit.inc({ limit: 'idle' })
      stream.abort(new IdleCircuitError(`relayed connection idle for ${timeoutMs} ms`))
    }
  }

  /** Refuse new reservations and circuits from now on (drain or shutdown). */
  drain (): void {
    this.draining = true
  }

  undrain (): void {
    this.draining = false
  }

  reservedPeers (): PeerId[] {
    return this.view == null ? [] : [...this.view.relay.reservations.keys()]
  }

  isReserved (peer: PeerId): boolean {
    return this.view?.relay.reservations.has(peer) ?? false
  }

  get isDraining (): boolean {
    return this.draining
  }

  reservationCount (): number {
    return this.view?.relay.reservations.size ?? 0
  }

  /** Relayed connections open now: the stop streams this relay opened to destinations. */
  openCircuits (): number {
    return this.view == null ? 0 : countStreams(this.view.getConnections(), RELAY_PROTOCOLS.stop, 'outbound')
  }

  /** Hooks for libp2p's `connectionGater` option. */
  readonly gater: Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'> = {
    denyInboundRelayReservation: (peer: PeerId): boolean => {
      const view = this.view
      if (view == null) return true
      const reservations = view.relay.reservations
      const ip = view.getConnections(peer).map(c => ipOf(c.remoteAddr)).find(a => a != null)
      const keys = ip == null ? undefined : ipKeys(ip)
      const key = peer.toString()
      const stillReserved = (holder: PeerId): boolean => reservations.has(holder)
      const refusal = reservationRefusal({
        draining: this.draining,
        renewal: reservations.has(peer),
        activeReservations: reservations.size,
        sameIpReservations: keys == null ? 0 : this.byIp.count(keys.host, key, stillReserved, this.caps.maxReservationsPerIp),
        samePrefixReservations: keys == null ? 0 : this.byPrefix.count(keys.network, key, stillReserved, this.caps.maxReservationsPerPrefix)
      }, this.caps)
      if (refusal == null) {
        // A cap of 0 is none: nothing to count, so nothing to index.
        if (keys != null && this.caps.maxReservationsPerIp > 0) this.byIp.add(key, peer, keys.host)
        if (keys != null && this.caps.maxReservationsPerPrefix > 0) this.byPrefix.add(key, peer, keys.network)
        this.metrics.reservationsAccepted.inc()
        this.safeDispatchEvent('reserved', { detail: peer })
        return false
      }
      this.metrics.reservationsRefused.inc({ reason: refusal })
      // At capacity the relay's own store refuses with RESERVATION_REFUSED, the status the spec gives for it.
      return refusal !== 'capacity'
    },
    denyOutboundRelayedConnection: (source: PeerId, destination: PeerId): boolean => {
      const view = this.view
      if (view == null) return true
      const sourceConnections = view.getConnections(source)
      const destinationConnections = view.getConnections(destination)
      const sourceIp = sourceConnections.map(c => ipOf(c.remoteAddr)).find(a => a != null)
      const sourceNetwork = sourceIp == null ? undefined : ipKeys(sourceIp)?.network
      const open = this.circuits.count(source.toString(), sourceNetwork, destination.toString())
      const refusal = circuitRefusal({
        pairCircuits: open.pair,
        prefixToDestinationCircuits: open.network,
        draining: this.draining,
        // The request's own hop stream is open already: it is not yet a circuit.
        sourceCircuits: Math.max(0, countStreams(sourceConnections, RELAY_PROTOCOLS.hop, 'inbound') - 1) +
          countStreams(sourceConnections, RELAY_PROTOCOLS.stop, 'outbound'),
        destinationCircuits: countStreams(destinationConnections, RELAY_PROTOCOLS.hop, 'inbound') +
          countStreams(destinationConnections, RELAY_PROTOCOLS.stop, 'outbound')
      }, this.caps)
      if (refusal == null) {
        this.circuits.admit(source.toString(), destination.toString())
        this.metrics.circuitsOpened.inc()
        return false
      }
      this.metrics.circuitsRefused.inc({ reason: refusal })
      return true
    }
  }

  /** A reservation is worthless once its peer is gone: free the slot instead of waiting for the TTL. */
  onPeerDisconnect (peer: PeerId): void {
    this.byIp.remove(peer.toString())
    this.byPrefix.remove(peer.toString())
    const reservation = this.view?.relay.reservations.get(peer)
    if (reservation == null) return
    reservation.signal.clear()
    this.view?.relay.reservations.delete(peer)
    this.safeDispatchEvent('released', { detail: peer })
  }

  /** Wraps the registrar handed to the relay server so every hop stream is accounted. */
  accountingRegistrar (registrar: Registrar): Registrar {
    return new Proxy(registrar, {
      get: (target, property, receiver) => {
        if (property !== 'handle') return Reflect.get(target, property, receiver) as unknown
        const handle: Registrar['handle'] = async (protocol, handler, options) => {
          const wrapped: StreamHandler = protocol === RELAY_PROTOCOLS.hop
            ? async (stream, connection) => { this.account(stream, connection); await handler(stream, connection) }
            : handler
          await target.handle(protocol, wrapped, options)
        }
        return handle
      }
    })
  }

  private account (stream: Stream, connection: Connection): void {
    // A hop stream carries either a reservation or a circuit; only circuits relay data. The
    // first frame says which, and for a circuit its destination: it is collected whole (it may
    // come in pieces, and list many addresses) before it is read, up to a bound no honest
    // request comes near.
    let kind: 'unknown' | 'circuit' | 'reservation' = 'unknown'
    let head = new Uint8Array(0)
    let pending = 0
    let touch: ((bytes: number) => void) | undefined
    const count = (bytes: number): void => {
      if (kind === 'circuit') { this.metrics.relayedBytes.inc(bytes); touch?.(bytes) } else if (kind === 'unknown') pending += bytes
    }
    const classify = (frame: Uint8Array): void => {
      kind = hopMessageType(frame) === HOP_TYPE_CONNECT ? 'circuit' : 'reservation'
      if (kind === 'circuit') {
        this.metrics.relayedBytes.inc(pending)
        const destination = hopConnectDestination(frame)
        if (destination != null) {
          const ip = ipOf(connection.remoteAddr)
          touch = this.circuits.request(stream, connection.remotePeer.toString(), ip == null ? undefined : ipKeys(ip)?.network, destination, Date.now())
        }
      }
      pending = 0
      head = new Uint8Array(0)
    }
    // Observe dispatched messages without adding a 'message' listener: a listener attached
    // before the relay's reader would make the stream flush buffered frames to nobody.
    const dispatchEvent = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (event: Event): boolean => {
      if (event.type === 'message') {
        const data = (event as StreamMessageEvent).data
        if (kind === 'unknown') {
          const bytes = data.subarray()
          const joined = new Uint8Array(head.byteLength + Math.min(bytes.byteLength, MAX_HOP_REQUEST_BYTES + 16))
          joined.set(head)
          joined.set(bytes.subarray(0, joined.byteLength - head.byteLength), head.byteLength)
          const frame = firstFrame(joined)
          if (frame === 'too-large') {
            stream.abort(new Error(`hop request of ${frameLength(joined) ?? joined.byteLength} bytes is over the ${MAX_HOP_REQUEST_BYTES}-byte limit`))
            return false
          }
          count(data.byteLength)
          if (frame == null) head = joined
          else classify(frame)
          return dispatchEvent(event)
        }
        count(data.byteLength)
      }
      return dispatchEvent(event)
    }
    const send = stream.send.bind(stream)
    stream.send = (data) => {
      count(data.byteLength)
      return send(data)
    }
    stream.addEventListener('close', (event) => {
      const name = event.error?.name
      if (name === 'TransferLimitError') this.metrics.circuitsClosedByLimit.inc({ limit: 'data' })
      else if (name === 'DurationLimitError') this.metrics.circuitsClosedByLimit.inc({ limit: 'duration' })
    }, { once: true })
  }
}

const HOP_TYPE_CONNECT = 1
/** The longest first frame of a hop stream the guard reads (a CONNECT with its addresses is a few hundred bytes). */
export const MAX_HOP_REQUEST_BYTES = 4_096

/** The declared length of the frame `bytes` starts with, including its length prefix; undefined until the prefix is whole. */
function frameLength (bytes: Uint8Array): number | undefined {
  const length = readVarint(bytes, 0)
  return length == null ? undefined : length.next + length.value
}

/** The whole first length-prefixed frame of `bytes`, undefined while it is incomplete, or 'too-large'. */
function firstFrame (bytes: Uint8Array): Uint8Array | 'too-large' | undefined {
  const length = frameLength(bytes)
  if (length == null) return bytes.byteLength > 5 ? 'too-large' : undefined
  if (length > MAX_HOP_REQUEST_BYTES) return 'too-large'
  return bytes.byteLength >= length ? bytes.subarray(0, length) : undefined
}

/** Reads one protobuf varint at `offset`; undefined past the end. */
function readVarint (bytes: Uint8Array, offset: number): { value: number, next: number } | undefined {
  let value = 0
  for (let shift = 0, i = offset; i < bytes.length && shift < 35; i++, shift += 7) {
    const byte = bytes[i] ?? 0
    value += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) return { value, next: i + 1 }
  }
  return undefined
}

/**
 * The destination PeerId of a CONNECT in the first frame of a hop stream (HopMessage field 2,
 * Peer field 1), or undefined when the frame does not hold it whole.
 */
export function hopConnectDestination (frame: Uint8Array): string | undefined {
  const length = readVarint(frame, 0)
  if (length == null) return undefined
  const end = Math.min(frame.length, length.next + length.value)
  for (let offset = length.next; offset < end;) {
    const tag = readVarint(frame, offset)
    if (tag == null) return undefined
    const field = Math.floor(tag.value / 8)
    const wire = tag.value & 7
    if (wire === 0) { const v = readVarint(frame, tag.next); if (v == null) return undefined; offset = v.next; continue }
    if (wire !== 2) return undefined
    const size = readVarint(frame, tag.next)
    if (size == null || size.next + size.value > end) return undefined
    if (field === 2) {
      const peer = frame.subarray(size.next, size.next + size.value)
      const idTag = readVarint(peer, 0)
      const idSize = idTag == null ? undefined : readVarint(peer, idTag.next)
      if (idTag?.value !== 0x0a || idSize == null || idSize.next + idSize.value > peer.length) return undefined
      return base58btc.baseEncode(peer.subarray(idSize.next, idSize.next + idSize.value))
    }
    offset = size.next + size.value
  }
  return undefined
}

/** The HopMessage type in the first length-prefixed frame of a hop stream, if it can be read. */
export function hopMessageType (frame: Uint8Array): number | undefined {
  let offset = 0
  while (offset < frame.length && ((frame[offset] ?? 0) & 0x80) !== 0) offset++
  offset++ // last byte of the length varint
  if (frame[offset] !== 0x08) return undefined
  return frame[offset + 1]
}
