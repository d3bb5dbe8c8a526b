import type { CircuitRefusal, ReservationRefusal } from '../metrics/anchor-metrics.js'

export interface RelayCaps {
  readonly maxReservations: number
  /** 0 lifts the cap. */
  readonly maxReservationsPerIp: number
  /** 0 lifts the cap. */
  readonly maxCircuitsPerPeer: number
}

export interface ReservationRequest {
  readonly draining: boolean
  /** A renewal of a reservation the peer already holds never counts against the caps. */
  readonly renewal: boolean
  readonly activeReservations: number
  /** Reservations held by other peers from the requester's IP address. */
  readonly sameIpReservations: number
}

/** Why a reservation must be refused, or undefined when it may go ahead. */
export function reservationRefusal (request: ReservationRequest, caps: RelayCaps): ReservationRefusal | undefined {
  if (request.draining) return 'draining'
  if (request.renewal) return undefined
  if (request.activeReservations >= caps.maxReservations) return 'capacity'
  if (caps.maxReservationsPerIp > 0 && request.sameIpReservations >= caps.maxReservationsPerIp) return 'per_ip'
  return undefined
}

export interface CircuitRequest {
  readonly draining: boolean
  /** Relayed connections the source peer is already part of. */
  readonly sourceCircuits: number
  /** Relayed connections the destination peer is already part of. */
  readonly destinationCircuits: number
}

/** Why a relayed connection must be refused, or undefined when it may open. */
export function circuitRefusal (request: CircuitRequest, caps: RelayCaps): CircuitRefusal | undefined {
  if (request.draining) return 'draining'
  const cap = caps.maxCircuitsPerPeer
  if (cap > 0 && (request.sourceCircuits >= cap || request.destinationCircuits >= cap)) return 'per_peer'
  return undefined
}
