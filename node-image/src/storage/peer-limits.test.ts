import { describe, expect, it } from 'vitest'
import { ANCHOR_DEFAULTS } from '../config/anchor-options.js'
import { PeerLimits } from './peer-limits.js'

const a = { peer: 'a', network: '198.51.100.0/24' }
const b = { peer: 'b', network: '198.51.100.0/24' }
const c = { peer: 'c', network: '203.0.113.0/24' }
const DAY = 24 * 60 * 60 * 1000

describe('PeerLimits', () => {
  it('lets a burst through, then limits the rate until tokens refill', () => {
    const limits = new PeerLimits({ bytesPerSecond: 1000, bytesPerDay: null })
    expect(limits.admit(a, 1000, { now: 0 })).toEqual({ ok: true })
    expect(limits.admit(a, 500, { now: 100 })).toMatchObject({ ok: false, code: 'rate_limited' })
    expect(limits.admit(a, 500, { now: 600 })).toEqual({ ok: true })
    expect(limits.admit(c, 1000, { now: 600 })).toEqual({ ok: true })
  })

  it('admits a block larger than one second of rate once the bucket is full', () => {
    const limits = new PeerLimits({ bytesPerSecond: 100, bytesPerDay: null })
    expect(limits.admit(a, 5000, { now: 0 })).toEqual({ ok: true })
  })

  it('enforces the daily quota and resets it after a day', () => {
    const limits = new PeerLimits({ bytesPerSecond: null, bytesPerDay: 2000 })
    expect(limits.admit(a, 1500, { now: 0 })).toEqual({ ok: true })
    const refused = limits.admit(a, 1000, { now: 1000 })
    expect(refused).toMatchObject({ ok: false, code: 'quota_exceeded' })
    expect(refused.ok ? '' : refused.message).toContain('daily quota of 2000 bytes reached (1500 used)')
    expect(limits.admit(a, 1000, { now: DAY + 1 })).toEqual({ ok: true })
  })

  it('limits a network as a whole, however many PeerIds it uses', () => {
    const limits = new PeerLimits({ bytesPerSecond: null, bytesPerDay: null, networkBytesPerDay: 3000, networkBytesPerSecond: 10_000 })
    expect(limits.admit(a, 2000, { now: 0 })).toEqual({ ok: true })
    expect(limits.admit(b, 2000, { now: 1 })).toMatchObject({ ok: false, code: 'quota_exceeded', message: expect.stringContaining('198.51.100.0/24') as string })
    expect(limits.admit(c, 2000, { now: 2 })).toEqual({ ok: true })
    expect(limits.admit({ peer: 'anchor' }, 50_000, { now: 3 })).toEqual({ ok: true })
    const rated = new PeerLimits({ bytesPerSecond: null, bytesPerDay: null, networkBytesPerSecond: 1000 })
    expect(rated.admit(a, 1000, { now: 0 })).toEqual({ ok: true })
    expect(rated.admit(b, 1000, { now: 10 })).toMatchObject({ ok: false, code: 'rate_limited' })
  })

  it('caps what one network holds: recent uploads and leases, until the window passes or leases go', () => {
    const limits = new PeerLimits({ bytesPerSecond: null, bytesPerDay: null, networkHeldBytes: 1000, heldWindowMs: DAY, leaseBytes: null })
    expect(limits.admit(a, 600, { now: 0 })).toEqual({ ok: true })
    expect(limits.admit(b, 600, { now: 1 })).toMatchObject({ ok: false, code: 'quota_exceeded' })
    expect(limits.admit(b, 300, { now: 2, pinned: true })).toEqual({ ok: true })
    expect(limits.admitLease(b, 'cid-1', 300, 10_000, 2)).toEqual({ ok: true })
    expect(limits.admitLease(a, 'cid-2', 300, 10_000, 3)).toMatchObject({ ok: false, code: 'quota_exceeded' })
    expect(limits.admit(c, 900, { now: 4 })).toEqual({ ok: true })
    // The lease expires at 10 s, the uploads leave the window after a day.
    expect(limits.admit(b, 300, { now: 20_000 })).toEqual({ ok: true })
    expect(limits.admit(b, 900, { now: DAY + 2 * 3600_000 })).toEqual({ ok: true })
  })

  it('counts leases against their owner\'s quota, renews in place, and releases only its own', () => {
    const limits = new PeerLimits({ bytesPerSecond: null, bytesPerDay: null, leaseBytes: 1000 })
    expect(limits.admitLease(a, 'x', 700, 10_000, 0)).toEqual({ ok: true })
    expect(limits.admitLease(a, 'x', 900, 20_000, 1)).toEqual({ ok: true })
    expect(limits.admitLease(a, 'y', 200, 20_000, 2)).toMatchObject({ ok: false, code: 'quota_exceeded' })
    expect(limits.releaseLease('b', 'x')).toBe(false)
    expect(limits.releaseLease('a', 'x')).toBe(true)
    expect(limits.admitLease(a, 'y', 200, 20_000, 3)).toEqual({ ok: true })
    expect(limits.leases.size).toBe(1)
  })

  it('lets a grant holder past its own limits and its network\'s', () => {
    const limits = new PeerLimits({ bytesPerSecond: null, bytesPerDay: 100, networkBytesPerDay: 100, leaseBytes: 100 })
    limits.grant({ holder: 'a', issuedAt: 0, expiresAt: 10_000, bytesPerDay: null, leaseBytes: 10_000 })
    expect(limits.admit(a, 5000, { now: 1 })).toEqual({ ok: true })
    expect(limits.admitLease(a, 'x', 5000, 9000, 1)).toEqual({ ok: true })
    expect(limits.admit(b, 50, { now: 2 })).toEqual({ ok: true })
    expect(limits.admit(a, 5000, { now: 20_000 })).toMatchObject({ ok: false, code: 'quota_exceeded' })
  })

  it('ship defaults under which no one PeerId can take a whole anchor in a day', () => {
    expect(ANCHOR_DEFAULTS.storage.peerQuota).toBeLessThan(ANCHOR_DEFAULTS.storage.capacity / 4)
    expect(ANCHOR_DEFAULTS.storage.prefixQuota).toBeLessThan(ANCHOR_DEFAULTS.storage.capacity / 2)
    expect(ANCHOR_DEFAULTS.storage.prefixShare).toBeLessThanOrEqual(0.25)
  })
})
