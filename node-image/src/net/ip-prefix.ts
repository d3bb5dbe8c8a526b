import { isIPv4, isIPv6 } from 'node:net'

/**
 * Limits per IP address mean little when a host holds a whole network: an IPv4 /24 is one
 * subscriber's block at most providers, an IPv6 /64 is one LAN and a /56 one subscriber. So an
 * address counts as its /32 (IPv4) or /64 (IPv6), and a network as its /24 or /56.
 */
export const IPV4_NETWORK_BITS = 24
export const IPV6_HOST_BITS = 64
export const IPV6_NETWORK_BITS = 56

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups (text: string): number[] | undefined {
  let address = text.split('%')[0] ?? ''
  // An embedded IPv4 tail (::ffff:198.51.100.7) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1]
  if (v4 != null) {
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number]
    address = `${address.slice(0, -v4.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':')
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : []
  const missing = 8 - head.length - tail.length
  if ((halves.length === 2 && missing < 1) || (halves.length === 1 && missing !== 0)) return undefined
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map(g => Number.parseInt(g, 16))
  return groups.length === 8 && groups.every(g => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

function ipv4Of (groups: number[]): string | undefined {
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 host behind it.
  if (groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0
    const lo = groups[7] ?? 0
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
  }
  return undefined
}

function ipv6Prefix (groups: number[], bits: number): string {
  const kept = groups.map((group, i) => {
    const start = i * 16
    if (start >= bits) return 0
    if (start + 16 <= bits) return group
    return group & (0xffff << (16 - (bits - start))) & 0xffff
  })
  return `${kept.map(g => g.toString(16)).join(':')}/${bits}`
}

export interface IpKeys {
  /** The host: the IPv4 address, or the IPv6 /64 it sits in. */
  readonly host: string
  /** The network: the IPv4 /24 or the IPv6 /56. */
  readonly network: string
}

/** The host and network an address counts as, or undefined when it is not an IP address. */
export function ipKeys (address: string): IpKeys | undefined {
  if (isIPv4(address)) {
    const [a, b, c] = address.split('.')
    return { host: address, network: `${a}.${b}.${c}.0/${IPV4_NETWORK_BITS}` }
  }
  if (!isIPv6(address)) return undefined
  const groups = ipv6Groups(address)
  if (groups == null) return undefined
  const mapped = ipv4Of(groups)
  if (mapped != null) return ipKeys(mapped)
  return { host: ipv6Prefix(groups, IPV6_HOST_BITS), network: ipv6Prefix(groups, IPV6_NETWORK_BITS) }
}

/** The network (/24, /56) a connection comes from, by its remote address; undefined without an IP. */
export function networkOf (address: { getComponents: () => Array<{ name: string, value?: string }> }): string | undefined {
  const ip = address.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
  return ip == null ? undefined : ipKeys(ip)?.network
}
