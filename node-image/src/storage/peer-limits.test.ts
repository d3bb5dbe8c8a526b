import { describe, expect, it } from 'vitest'
import { PeerLimits } from './peer-limits.js'

describe('PeerLimits', () => {
  it('lets a burst through, then limits the rate until tokens refill', () => {
    const limits = new PeerLimits({ bytesPerSecond: 1000, bytesPerDay: null })
    expect(limits.admit('a', 1000, 0)).toEqual({ ok: true })
    expect(limits.admit('a', 500, 100)).toMatchObject({ ok: false, code: 'rate_limited' })
    expect(limits.admit('a', 500, 600)).toEqual({ ok: true })
    expect(limits.admit('b', 1000, 600)).toEqual({ ok: true })
  })

  it('admits a block larger than one second of rate once the bucket is full', () => {
    const limits = new PeerLimits({ bytesPerSecond: 100, bytesPerDay: null })
    expect(limits.admit('a', 5000, 0)).toEqual({ ok: true })
  })

  it('enforces the daily quota and resets it after a day', () => {
    const limits = new PeerLimits({ bytesPerSecond: null, bytesPerDay: 2000 })
    expect(limits.admit('a', 1500, 0)).toEqual({ ok: true })
    const refused = limits.admit('a', 1000, 1000)
    expect(refused).toMatchObject({ ok: false, code: 'quota_exceeded' })
    expect(refused.ok ? '' : refused.message).toContain('daily quota of 2000 bytes reached (1500 used)')
    expect(limits.admit('a', 1000, 24 * 60 * 60 * 1000 + 1)).toEqual({ ok: true })
  })
})
