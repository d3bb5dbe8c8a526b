import { describe, expect, it } from 'vitest'
import { PEERED_REASONS, peeringSummary } from './peering-status.js'
import type { MemberRecord, PeeringReport } from '@meganet/contracts'

const PIN = '12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'
const NORTH = 'https://north.example/bootstrap'
const SOUTH = 'https://south.example/bootstrap'
const PEERING = [{ bootstrapUrl: NORTH, pins: [PIN] }, { bootstrapUrl: SOUTH, pins: [PIN] }]

const verified = (bootstrapUrl: string, connected: number, anchors = 3): PeeringReport => ({ bootstrapUrl, anchors, connected, verifiedAt: 1_000, lastError: null })
const failed = (bootstrapUrl: string, lastError: string): PeeringReport => ({ bootstrapUrl, anchors: 0, connected: 0, verifiedAt: null, lastError })
const pending = (bootstrapUrl: string): PeeringReport => ({ bootstrapUrl, anchors: 0, connected: 0, verifiedAt: null, lastError: null })

function member (pod: string, peering: PeeringReport[] | undefined, phase: MemberRecord['phase'] = 'serving'): MemberRecord {
  return {
    schema: 1, peerId: `P-${pod}`, multiaddrs: [], roles: ['relay'], region: 'local', fleet: 'eu', pod, phase, version: '1', startedAt: 0, updatedAt: 0, heartbeatMs: 1000,
    load: { connectedPeers: 0, reservations: 0, relayedBytesPerSecond: 0, storedBytes: 0, freeDiskBytes: 0, eventLoopLagSeconds: 0 },
    ...(peering != null ? { peering } : {})
  }
}

describe('peeringSummary', () => {
  it('counts per peered fleet the anchors connected into it, and whether any anchor holds its list verified', () => {
    const summary = peeringSummary(PEERING, [
      member('eu-anchor-0', [verified(NORTH, 2), verified(SOUTH, 1, 5)]),
      member('eu-anchor-1', [verified(NORTH, 0, 4), failed(SOUTH, 'bootstrap list https://south.example/bootstrap?peered=false answered HTTP 503')]),
      member('eu-anchor-2', [verified(NORTH, 1)]),
      // A report for a fleet no longer in the spec (an anchor not yet rolled) counts for nothing.
      member('eu-anchor-3', [verified('https://old.example/bootstrap', 2)])
    ])
    expect(summary.fleets).toEqual([
      { bootstrapUrl: NORTH, verified: true, anchorsConnected: 2, peeredAnchors: 4 },
      { bootstrapUrl: SOUTH, verified: true, anchorsConnected: 1, peeredAnchors: 5, lastError: 'bootstrap list https://south.example/bootstrap?peered=false answered HTTP 503' }
    ])
    expect(summary.condition).toEqual({ status: 'True', reason: PEERED_REASONS.verified, message: '2 peered fleets verified and connected' })
  })

  it('says which fleet no anchor could verify, why, and what to check', () => {
    const summary = peeringSummary(PEERING, [
      member('eu-anchor-10', [verified(NORTH, 1), failed(SOUTH, 'signer 12D3KooWX is not a trusted anchor')]),
      member('eu-anchor-2', [verified(NORTH, 1), failed(SOUTH, 'fetch failed')])
    ])
    expect(summary.fleets?.[1]).toEqual({ bootstrapUrl: SOUTH, verified: false, anchorsConnected: 0, lastError: 'fetch failed' })
    expect(summary.condition.status).toBe('False')
    expect(summary.condition.reason).toBe(PEERED_REASONS.unverified)
    // The error of the lowest ordinal, so that the message holds still between reconciles.
    expect(summary.condition.message).toBe(`no anchor could verify the bootstrap list of ${SOUTH}: fetch failed; check that the URL serves that fleet's /bootstrap and that the pins are PeerIds of its anchors`)
  })

  it('waits for a verdict while no anchor has tried yet, and tells a verified but unreached fleet apart', () => {
    const starting = peeringSummary(PEERING, [member('eu-anchor-0', [verified(NORTH, 1), pending(SOUTH)]), member('eu-anchor-1', undefined)])
    expect(starting.condition).toMatchObject({ status: 'Unknown', reason: PEERED_REASONS.verifying })
    expect(starting.condition.message).toContain(SOUTH)
    expect(starting.condition.message).not.toContain(NORTH)
    const unreached = peeringSummary(PEERING.slice(0, 1), [member('eu-anchor-0', [verified(NORTH, 0, 2)])])
    expect(unreached.fleets).toEqual([{ bootstrapUrl: NORTH, verified: true, anchorsConnected: 0, peeredAnchors: 2 }])
    expect(unreached.condition).toMatchObject({ status: 'False', reason: PEERED_REASONS.unreachable })
    expect(unreached.condition.message).toContain('verified (2 anchors) but no anchor of this fleet is connected')
  })

  it('leaves drained anchors out, and says Unknown with no per-fleet entries when no records can be read', () => {
    const drained = peeringSummary(PEERING.slice(0, 1), [member('eu-anchor-0', [verified(NORTH, 1)], 'drained'), member('eu-anchor-1', [pending(NORTH)])])
    expect(drained.fleets).toEqual([{ bootstrapUrl: NORTH, verified: false, anchorsConnected: 0 }])
    const unknown = peeringSummary(PEERING, undefined)
    expect(unknown.fleets).toBeUndefined()
    expect(unknown.condition).toMatchObject({ status: 'Unknown', reason: PEERED_REASONS.unknown })
  })
})
