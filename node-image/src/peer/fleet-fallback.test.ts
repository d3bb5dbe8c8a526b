import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { FleetFallback } from './fleet-fallback.js'
import type { FallbackMesh } from './fleet-fallback.js'
import type { FleetAnchors } from './known-fleets.js'

async function anchorIds (count: number): Promise<string[]> {
  return await Promise.all(Array.from({ length: count }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
}

const addressesOf = (id: string): string[] => [`/ip4/192.0.2.1/tcp/4001/p2p/${id}`, `/ip4/192.0.2.1/tcp/4002/ws/p2p/${id}`]

/** A mesh that records what it was given, and is alone (every anchor failed twice) when told so. */
function fakeMesh (own: readonly string[]): FallbackMesh & { added: string[], alone: boolean } {
  const mesh = {
    added: [] as string[],
    alone: false,
    add: (addresses: readonly string[]) => { mesh.added.push(...addresses) },
    has: (peerId: string) => own.includes(peerId) || mesh.added.some(a => a.endsWith(`/p2p/${peerId}`)),
    failures: () => mesh.alone ? [{ address: 'gone', error: new Error('ECONNREFUSED') }] : undefined
  }
  return mesh
}

const joinedIds = (mesh: { added: string[] }): Set<string> => new Set(mesh.added.map(a => a.slice(a.lastIndexOf('/') + 1)))

describe('FleetFallback', () => {
  let north: string[]
  let south: string[]
  let fleets: FleetAnchors[]
  beforeAll(async () => {
    north = await anchorIds(4)
    south = await anchorIds(4)
    fleets = [north.map(addressesOf), south.map(addressesOf)]
  })
  afterEach(() => { vi.useRealTimers() })

  it('joins a few anchors at a time, across the peered fleets, each with all its addresses', () => {
    const mesh = fakeMesh([])
    const fallback = new FleetFallback({ fleets, relays: 1 }, mesh)
    expect(fallback.join()).toBe(true)
    const first = joinedIds(mesh)
    expect(first.size).toBe(3)
    expect(mesh.added).toHaveLength(6)
    expect([...first].some(id => north.includes(id)) && [...first].some(id => south.includes(id))).toBe(true)
    for (const id of first) expect(fallback.isFallbackAnchor(id)).toBe(true)
    expect(fallback.join()).toBe(true)
    expect(fallback.join()).toBe(true)
    expect(joinedIds(mesh)).toEqual(new Set([...north, ...south]))
    expect(fallback.join()).toBe(false)
  })

  it('takes one anchor more than the reservations the peer holds, and skips anchors it already has', () => {
    const mesh = fakeMesh([north[0] as string, south[0] as string])
    const fallback = new FleetFallback({ fleets, relays: 4 }, mesh)
    expect(fallback.join()).toBe(true)
    expect(joinedIds(mesh).size).toBe(5)
    expect(fallback.join()).toBe(true)
    expect(joinedIds(mesh).size).toBe(6)
    expect(fallback.isFallbackAnchor(north[0] as string)).toBe(false)
  })

  it('peers of one operator spread over the peered anchors', () => {
    const firstPicks = new Map<string, number>()
    for (let i = 0; i < 200; i++) {
      const mesh = fakeMesh([])
      new FleetFallback({ fleets, relays: 1 }, mesh).join()
      for (const id of joinedIds(mesh)) firstPicks.set(id, (firstPicks.get(id) ?? 0) + 1)
    }
    // 600 picks over 8 anchors: about 75 each.
    expect(firstPicks.size).toBe(8)
    for (const count of firstPicks.values()) expect(count).toBeGreaterThan(30)
  })

  it('steps on by itself once every anchor it has has failed for two seconds', () => {
    vi.useFakeTimers()
    const mesh = fakeMesh([])
    const fallback = new FleetFallback({ fleets, relays: 1 }, mesh)
    fallback.start()
    vi.advanceTimersByTime(10_000)
    expect(mesh.added).toEqual([])
    mesh.alone = true
    vi.advanceTimersByTime(1_500)
    expect(mesh.added).toEqual([])
    vi.advanceTimersByTime(1_000)
    expect(joinedIds(mesh).size).toBe(3)
    // The anchors just joined are dialled, not failed: the next step waits until they have.
    mesh.alone = false
    vi.advanceTimersByTime(10_000)
    expect(joinedIds(mesh).size).toBe(3)
    mesh.alone = true
    vi.advanceTimersByTime(2_500)
    expect(joinedIds(mesh).size).toBe(6)
    fallback.stop()
  })
})
