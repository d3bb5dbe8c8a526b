import { describe, expect, it } from 'vitest'
import { ipKeys } from './ip-prefix.js'

describe('ipKeys', () => {
  it('counts an IPv4 address as itself, in its /24', () => {
    expect(ipKeys('198.51.100.7')).toEqual({ host: '198.51.100.7', network: '198.51.100.0/24' })
    expect(ipKeys('198.51.100.8')?.network).toBe(ipKeys('198.51.100.7')?.network)
    expect(ipKeys('198.51.101.7')?.network).not.toBe(ipKeys('198.51.100.7')?.network)
  })

  it('counts an IPv6 address as its /64, in its /56', () => {
    const a = ipKeys('2001:db8:1:2:aaaa::1')
    const b = ipKeys('2001:db8:1:2:bbbb:cccc:dddd:eeee')
    expect(a).toEqual({ host: '2001:db8:1:2:0:0:0:0/64', network: '2001:db8:1:0:0:0:0:0/56' })
    expect(b?.host).toBe(a?.host)
    expect(ipKeys('2001:db8:1:ff::1')).toEqual({ host: '2001:db8:1:ff:0:0:0:0/64', network: '2001:db8:1:0:0:0:0:0/56' })
    expect(ipKeys('2001:db8:1:100::1')?.network).toBe('2001:db8:1:100:0:0:0:0/56')
    expect(ipKeys('::1')).toEqual({ host: '0:0:0:0:0:0:0:0/64', network: '0:0:0:0:0:0:0:0/56' })
  })

  it('reads IPv4-mapped IPv6 as the IPv4 host, and refuses what is not an address', () => {
    expect(ipKeys('::ffff:198.51.100.7')).toEqual({ host: '198.51.100.7', network: '198.51.100.0/24' })
    expect(ipKeys('::ffff:c633:6407')).toEqual({ host: '198.51.100.7', network: '198.51.100.0/24' })
    expect(ipKeys('fe80::1%eth0')?.host).toBe('fe80:0:0:0:0:0:0:0/64')
    for (const bad of ['', 'example.com', '1.2.3', '1:2:3:4:5:6:7:8:9', '::1::2', '12345::']) expect(ipKeys(bad)).toBeUndefined()
  })
})
