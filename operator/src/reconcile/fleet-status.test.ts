import { anchorFleetSpecSchema } from '@meganet/contracts'
import { describe, expect, it } from 'vitest'
import { fleetStatus } from './fleet-status.js'
import type { AnchorFleet, AnchorFleetSpecInput, MemberRecord } from '@meganet/contracts'
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node'
import type { StatusInput } from './fleet-status.js'

const NOW = '2026-12-03T10:00:00Z'
const LATER = '2026-12-03T10:05:00Z'

function fleet (replicas: number, status?: AnchorFleet['status'], spec: AnchorFleetSpecInput = {}): AnchorFleet {
  return {
    apiVersion: 'meganet.io/v1alpha1', kind: 'AnchorFleet',
    metadata: { name: 'eu', namespace: 'mesh', generation: 4 },
    spec: anchorFleetSpecSchema.parse({ ...spec, replicas }),
    ...(status != null ? { status } : {})
  }
}

const statefulSet = (replicas: number, readyReplicas: number): V1StatefulSet => ({ status: { replicas, readyReplicas } })
const pod = (name: string, phase = 'Running'): V1Pod => ({ metadata: { name }, status: { phase } })

function member (pod: string, peerId: string, phase: MemberRecord['phase'], multiaddrs: string[], peers = 0): MemberRecord {
  return {
    schema: 1, peerId, multiaddrs, roles: ['relay'], region: 'local', fleet: 'eu', pod, phase, version: '1', startedAt: 0, updatedAt: 0, heartbeatMs: 1000,
    load: { connectedPeers: peers, reservations: peers, relayedBytesPerSecond: 0, storedBytes: 100 * peers, freeDiskBytes: 0, eventLoopLagSeconds: 0 }
  }
}

const input = (overrides: Partial<StatusInput>): StatusInput => ({ fleet: fleet(2), pods: [], selector: 'app=x', now: NOW, ...overrides })
const condition = (status: ReturnType<typeof fleetStatus>, type: string): { status: string, reason: string, lastTransitionTime: string } | undefined =>
  status.conditions?.find(c => c.type === type)

describe('fleetStatus', () => {
  it('lists each anchor by pod in ordinal order, with what its membership record says', () => {
    const status = fleetStatus(input({
      statefulSet: statefulSet(3, 3),
      pods: [pod('eu-anchor-10'), pod('eu-anchor-2'), pod('eu-anchor-1', 'Pending')],
      members: [member('eu-anchor-2', 'P2', 'serving', [], 7)]
    }))
    expect(status.anchors).toEqual([
      { pod: 'eu-anchor-1', phase: 'Pending' },
      { pod: 'eu-anchor-2', peerId: 'P2', peers: 7, storedBytes: 700, phase: 'serving' },
      { pod: 'eu-anchor-10', phase: 'Unknown' }
    ])
    expect(status.totals).toEqual({ peers: 7, reservations: 7, storedBytes: 700 })
  })

  it('offers serving anchors\' addresses to bootstrap from, and those a browser can dial apart', () => {
    const tcp = '/ip4/203.0.113.7/tcp/4001/p2p/P1'
    const webrtc = '/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/uEiAbc/p2p/P1'
    const wss = '/dns/a.example.net/tcp/4002/tls/ws/p2p/P1'
    const status = fleetStatus(input({
      members: [
        member('eu-anchor-0', 'P1', 'serving', [tcp, webrtc, wss, '/ip4/203.0.113.7/udp/4004/webrtc-direct/p2p/P1']),
        member('eu-anchor-1', 'P2', 'draining', ['/ip4/203.0.113.8/tcp/4001/p2p/P2'])
      ]
    }))
    expect(status.bootstrap).toEqual([wss, '/ip4/203.0.113.7/tcp/4001/p2p/P1', webrtc, '/ip4/203.0.113.7/udp/4004/webrtc-direct/p2p/P1'].sort())
    expect(status.browserAddresses).toEqual([wss, webrtc].sort())
  })

  it('is Ready when every wanted anchor is ready, and Progressing while the StatefulSet catches up', () => {
    const ready = fleetStatus(input({ statefulSet: statefulSet(2, 2) }))
    expect(ready.phase).toBe('Ready')
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'AllAnchorsReady' })
    expect(condition(ready, 'Progressing')).toMatchObject({ status: 'False' })
    const growing = fleetStatus(input({ fleet: fleet(3), statefulSet: statefulSet(2, 2) }))
    expect(growing.phase).toBe('Progressing')
    expect(condition(growing, 'Progressing')).toMatchObject({ status: 'True', reason: 'Reconciling' })
  })

  it('says ScalingDown while anchors drain and Degraded with the problem, the latter first', () => {
    const draining = fleetStatus(input({ statefulSet: statefulSet(3, 3), scaleDown: { active: true, message: 'draining eu-anchor-2' } }))
    expect(draining.phase).toBe('ScalingDown')
    expect(condition(draining, 'Ready')?.status).toBe('False')
    expect(condition(draining, 'ScalingDown')).toMatchObject({ status: 'True', reason: 'Draining' })
    const degraded = fleetStatus(input({ statefulSet: statefulSet(3, 3), scaleDown: { active: true, message: 'x' }, degraded: '422 Invalid: spec' }))
    expect(degraded.phase).toBe('Degraded')
    expect(degraded.conditions?.find(c => c.type === 'Degraded')?.message).toBe('422 Invalid: spec')
  })

  it('keeps a condition\'s transition time while its status holds, and carries the last scale time over', () => {
    const first = fleetStatus(input({ statefulSet: statefulSet(2, 2) }))
    const again = fleetStatus(input({ fleet: fleet(2, { ...first, lastScaleTime: NOW }), statefulSet: statefulSet(2, 2), now: LATER }))
    expect(condition(again, 'Ready')?.lastTransitionTime).toBe(NOW)
    expect(again.lastScaleTime).toBe(NOW)
    expect(again.observedGeneration).toBe(4)
    const lost = fleetStatus(input({ fleet: fleet(2, first), statefulSet: statefulSet(2, 1), now: LATER }))
    expect(condition(lost, 'Ready')).toMatchObject({ status: 'False', lastTransitionTime: LATER })
  })

  it('sums up peering with other operators\' fleets from the anchors\' records, only for a fleet that peers', () => {
    const bootstrapUrl = 'https://north.example/bootstrap'
    const peers = { peering: [{ bootstrapUrl, pins: ['12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'] }] }
    const report = { bootstrapUrl, anchors: 2, connected: 1, verifiedAt: 1, lastError: null }
    const peered = fleetStatus(input({
      fleet: fleet(2, undefined, peers), statefulSet: statefulSet(2, 2),
      members: [{ ...member('eu-anchor-0', 'P1', 'serving', []), peering: [report] }, { ...member('eu-anchor-1', 'P2', 'serving', []), peering: [report] }]
    }))
    expect(peered.peering).toEqual([{ bootstrapUrl, verified: true, anchorsConnected: 2, peeredAnchors: 2 }])
    expect(condition(peered, 'Peered')).toMatchObject({ status: 'True', reason: 'PeeredFleetsVerified' })
    // Peering is this fleet's link outward: its health neither readies nor degrades the fleet.
    expect(peered.phase).toBe('Ready')
    const noNats = fleetStatus(input({ fleet: fleet(2, undefined, peers), statefulSet: statefulSet(2, 2) }))
    expect(noNats.peering).toBeUndefined()
    expect(condition(noNats, 'Peered')).toMatchObject({ status: 'Unknown', reason: 'MembersUnknown' })
    // Peering removed from the spec: its entries and condition go.
    const dropped = fleetStatus(input({ fleet: fleet(2, peered), statefulSet: statefulSet(2, 2), members: [] }))
    expect(dropped.peering).toBeUndefined()
    expect(condition(dropped, 'Peered')).toBeUndefined()
  })
})
