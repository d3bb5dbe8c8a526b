import type { CircuitRefusal, ReservationRefusal } from '../metrics/anchor-metrics.js'

/** Caps on what the relay admits; 0 lifts a per-something cap. */
export interface RelayCaps {
  readonly maxReservations: number
  /** Reservations from one host: an IPv4 address or an IPv6 /64. */
  readonly maxReservationsPerIp: number
  /** Reservations from one network: an IPv4 /24 or an IPv6 /56. */
  readonly maxReservationsPerPrefix: number
  /** Relayed connections a peer is source or destination of. */
  readonly maxCircuitsPerPeer: number
  /** Relayed connections from one source to one destination. */
  readonly maxCircuitsPerPair: number
  /** Relayed connections from one source network to one destination. */
  readonly maxCircuitsPerPrefixToPeer: number
}

export interface ReservationRequest {
  readonly draining: boolean
  /** A renewal of a reservation the peer already holds never counts against the caps. */
  readonly renewal: boolean
  readonly activeReservations: number
  /** Reservations held by other peers from the requester's host (IP address, IPv6 /64). */
  readonly sameIpReservations: number
  /** Reservations held by other peers from the requester's network (/24, /56). */
  readonly samePrefixReservations: number
}

/** Why a reservation must be refused, or undefined when it may go ahead. */
export function reservationRefusal (request: ReservationRequest, caps: RelayCaps): ReservationRefusal | undefined {
  if (request.draining) return 'draining'
  if (request.renewal) return undefined
  if (request.activeReservations >= caps.maxReservations) return 'capacity'
  if (caps.maxReservationsPerIp > 0 && request.sameIpReservations >= caps.maxReservationsPerIp) return 'per_ip'
  if (caps.maxReservationsPerPrefix > 0 && request.samePrefixReservations >= caps.maxReservationsPerPrefix) return 'per_prefix'
  return undefined
}

export interface CircuitRequest {
  readonly draining: boolean
  /** Relayed connections the source peer is already part of. */
  readonly sourceCircuits: number
  /** Relayed connections the destination peer is already part of. */
  readonly destinationCircuits: number
  /** Relayed connections already open from this source to this destination. */
  readonly pairCircuits: number
  /** Relayed connections already open from the source's network to this destination. */
  readonly prefixToDestinationCircuits: number
}

/** Why a relayed connection must be refused, or undefined when it may open. */
export function circuitRefusal (request: CircuitRequest, caps: RelayCaps): CircuitRefusal | undefined {
  if (request.draining) return 'draining'
  if (caps.maxCircuitsPerPair > 0 && request.pairCircuits >= caps.maxCircuitsPerPair) return 'per_pair'
  if (caps.maxCircuitsPerPrefixToPeer > 0 && request.prefixToDestinationCircuits >= caps.maxCircuitsPerPrefixToPeer) return 'per_prefix'
  const cap = caps.maxCircuitsPerPeer
  if (cap > 0 && (request.sourceCircuits >= cap || request.destinationCircuits >= cap)) return 'per_peer'
  return undefined
}
