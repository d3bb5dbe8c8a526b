import { TypedEventEmitter } from 'main-event'
import type { AnchorMetrics } from '../metrics/anchor-metrics.js'
import type { RelayCaps } from './relay-policy.js'
import { circuitRefusal, reservationRefusal } from './relay-policy.js'
import { ReservationsByIp } from './reservations-by-ip.js'
import type { Connection, ConnectionGater, PeerId, Stream, StreamHandler, StreamMessageEvent } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Multiaddr } from '@multiformats/multiaddr'

export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
export const RELAY_STOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/stop'

/** What the guard reads from the running node. */
export interface RelayView {
  readonly relay: CircuitRelayService
  getConnections: (peer?: PeerId) => Connection[]
}

export function ipOf (address: Multiaddr): string | undefined {
  return address.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
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
 * Adds what js-libp2p's relay server lacks: per-IP reservation caps, per-peer circuit caps,
 * refusal while draining, reservations freed when their peer disconnects, and accounting of
 * relayed bytes and limit cut-offs. It plugs in through libp2p's own hooks: the connection
 * gater (which the relay consults) and the registrar the relay registers its hop handler with.
 */
export class RelayGuard extends TypedEventEmitter<RelayGuardEvents> {
  private readonly caps: RelayCaps
  private readonly metrics: AnchorMetrics
  private view?: RelayView
  private draining = false
  private readonly byIp = new ReservationsByIp<PeerId>()

  constructor (caps: RelayCaps, metrics: AnchorMetrics) {
    super()
    this.caps = caps
    this.metrics = metrics
  }

  attach (view: RelayView): void {
    this.view = view
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

  get isDraining (): boolean {
    return this.draining
  }

  reservationCount (): number {
    return this.view?.relay.reservations.size ?? 0
  }

  /** Relayed connections open now: the stop streams this relay opened to destinations. */
  openCircuits (): number {
    return this.view == null ? 0 : countStreams(this.view.getConnections(), RELAY_STOP_PROTOCOL, 'outbound')
  }

  /** Hooks for libp2p's `connectionGater` option. */
  readonly gater: Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'> = {
    denyInboundRelayReservation: (peer: PeerId): boolean => {
      const view = this.view
      if (view == null) return true
      const reservations = view.relay.reservations
      const ip = view.getConnections(peer).map(c => ipOf(c.remoteAddr)).find(a => a != null)
      const key = peer.toString()
      const sameIp = ip == null ? 0 : this.byIp.count(ip, key, holder => reservations.has(holder))
      const refusal = reservationRefusal({
        draining: this.draining,
        renewal: reservations.has(peer),
        activeReservations: reservations.size,
        sameIpReservations: sameIp
      }, this.caps)
      if (refusal == null) {
        if (ip != null) this.byIp.add(key, peer, ip)
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
      const refusal = circuitRefusal({
        draining: this.draining,
        // The request's own hop stream is open already: it is not yet a circuit.
        sourceCircuits: Math.max(0, countStreams(sourceConnections, RELAY_HOP_PROTOCOL, 'inbound') - 1) +
          countStreams(sourceConnections, RELAY_STOP_PROTOCOL, 'outbound'),
        destinationCircuits: countStreams(destinationConnections, RELAY_HOP_PROTOCOL, 'inbound') +
          countStreams(destinationConnections, RELAY_STOP_PROTOCOL, 'outbound')
      }, this.caps)
      if (refusal == null) {
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
          const wrapped: StreamHandler = protocol === RELAY_HOP_PROTOCOL
            ? async (stream, connection) => { this.account(stream); await handler(stream, connection) }
            : handler
          await target.handle(protocol, wrapped, options)
        }
        return handle
      }
    })
  }

  private account (stream: Stream): void {
    // A hop stream carries either a reservation or a circuit; only circuits relay data. The
    // first frame says which: a varint length, then field 1 (the message type) as 0x08 <type>.
    let kind: 'unknown' | 'circuit' | 'reservation' = 'unknown'
    let pending = 0
    const count = (bytes: number): void => {
      if (kind === 'circuit') this.metrics.relayedBytes.inc(bytes)
      else if (kind === 'unknown') pending += bytes
    }
    // Observe dispatched messages without adding a 'message' listener: a listener attached
    // before the relay's reader would make the stream flush buffered frames to nobody.
    const dispatchEvent = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (event: Event): boolean => {
      if (event.type === 'message') {
        const data = (event as StreamMessageEvent).data
        if (kind === 'unknown') {
          kind = hopMessageType(data.subarray(0, Math.min(data.byteLength, 12))) === HOP_TYPE_CONNECT ? 'circuit' : 'reservation'
          if (kind === 'circuit') this.metrics.relayedBytes.inc(pending)
          pending = 0
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

/** The HopMessage type in the first length-prefixed frame of a hop stream, if it can be read. */
export function hopMessageType (frame: Uint8Array): number | undefined {
  let offset = 0
  while (offset < frame.length && ((frame[offset] ?? 0) & 0x80) !== 0) offset++
  offset++ // last byte of the length varint
  if (frame[offset] !== 0x08) return undefined
  return frame[offset + 1]
}
