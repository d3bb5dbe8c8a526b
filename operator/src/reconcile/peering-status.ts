import type { Condition, FleetPeering, MemberRecord, PeeredFleetStatus, PeeringReport } from '@meganet/contracts'

/** Reasons of the `Peered` condition: stable tokens; the message says which fleet and why. */
export const PEERED_REASONS = {
  /** Every peered fleet's list is verified by some anchor, and some anchor is connected into it. */
  verified: 'PeeredFleetsVerified',
  /** Some peered fleet has no verdict yet: anchors starting, or rolling out to the new spec. */
  verifying: 'Verifying',
  /** No anchor could fetch and verify some peered fleet's list. */
  unverified: 'PeeredListUnverified',
  /** A list verified, but no anchor of this fleet is connected to any of its anchors. */
  unreachable: 'PeeredFleetUnreachable',
  /** No membership records to read (no NATS, or NATS unreachable). */
  unknown: 'MembersUnknown'
} as const

export interface PeeringSummary {
  /** One entry per peered fleet, in the order of `spec.peering`; absent when no records could be read. */
  readonly fleets?: PeeredFleetStatus[]
  readonly condition: Pick<Condition, 'status' | 'reason' | 'message'>
}

/**
 * How the fleet's peering looks, from what its anchors report in their signed membership
 * records (`peering`): per peered fleet, whether some anchor holds its list verified against the
 * pins, how many anchors are connected into it, and the first failure; and the `Peered`
 * condition that sums it up. Anchors that have drained no longer count. A pure function.
 */
export function peeringSummary (peering: readonly FleetPeering[], members: readonly MemberRecord[] | undefined): PeeringSummary {
  if (members == null) {
    return {
      condition: { status: 'Unknown', reason: PEERED_REASONS.unknown, message: 'anchors report their peering over NATS: without spec.nats, or while NATS cannot be reached, it is unknown' }
    }
  }
  // By pod, so that the error shown is the same one from one reconcile to the next.
  const reports: PeeringReport[] = [...members]
    .filter(m => m.phase !== 'drained')
    .sort((a, b) => a.pod.localeCompare(b.pod, 'en', { numeric: true }))
    .flatMap(m => m.peering ?? [])
  const fleets = peering.map(({ bootstrapUrl }): PeeredFleetStatus => {
    const own = reports.filter(r => r.bootstrapUrl === bootstrapUrl)
    const verified = own.filter(r => r.verifiedAt != null)
    const lastError = own.find(r => r.lastError != null)?.lastError
    return {
      bootstrapUrl,
      verified: verified.length > 0,
      anchorsConnected: own.filter(r => r.connected > 0).length,
      ...(verified.length > 0 ? { peeredAnchors: Math.max(...verified.map(r => r.anchors)) } : {}),
      ...(lastError != null ? { lastError } : {})
    }
  })
  const unverified = fleets.filter(f => !f.verified && f.lastError != null)
  if (unverified.length > 0) {
    return {
      fleets,
      condition: {
        status: 'False',
        reason: PEERED_REASONS.unverified,
        message: unverified.map(f => `no anchor could verify the bootstrap list of ${f.bootstrapUrl}: ${f.lastError ?? ''}`).join('; ') +
          '; check that the URL serves that fleet\'s /bootstrap and that the pins are PeerIds of its anchors'
      }
    }
  }
  const pending = fleets.filter(f => !f.verified)
  if (pending.length > 0) {
    return {
      fleets,
      condition: { status: 'Unknown', reason: PEERED_REASONS.verifying, message: `no anchor has verified the bootstrap list of ${pending.map(f => f.bootstrapUrl).join(', ')} yet` }
    }
  }
  const unreachable = fleets.filter(f => f.anchorsConnected === 0)
  if (unreachable.length > 0) {
    return {
      fleets,
      condition: {
        status: 'False',
        reason: PEERED_REASONS.unreachable,
        message: unreachable.map(f => `the bootstrap list of ${f.bootstrapUrl} is verified (${f.peeredAnchors ?? 0} anchors) but no anchor of this fleet is connected to one of them`).join('; ') +
          '; check that they can be dialled from here'
      }
    }
  }
  return {
    fleets,
    condition: { status: 'True', reason: PEERED_REASONS.verified, message: `${fleets.length} peered fleet${fleets.length === 1 ? '' : 's'} verified and connected` }
  }
}
