import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { preferredConnection, withinLimits } from './peer-connections.js'
import { usableAddresses } from './usable-addresses.js'
import type { Connection } from '@libp2p/interface'

const NOW = 1_000_000

function connection (address: string, init: { limits?: { seconds?: number }, openedAt?: number, status?: string } = {}): Connection {
  return {
    remoteAddr: multiaddr(address),
    status: init.status ?? 'open',
    limits: init.limits,
    timeline: { open: init.openedAt ?? NOW - 1000 }
  } as unknown as Connection
}

const RELAYED = '/ip4/11.18.0.10/tcp/4001/p2p/12D3KooWEVEkHwNc1VH6PMRMtmfmQKQSh6pFwfqrQjz8zviiarTR/p2p-circuit'
const DIRECT = '/ip4/11.18.1.2/tcp/40000'

describe('preferredConnection', () => {
  it('prefers a direct connection, then an unlimited relayed one, then a limited one within its limits', () => {
    const limited = connection(RELAYED, { limits: { seconds: 1800 } })
    const unlimited = connection(RELAYED)
    const direct = connection(DIRECT)
    expect(preferredConnection([limited, unlimited, direct], NOW)).toBe(direct)
    expect(preferredConnection([limited, unlimited], NOW)).toBe(unlimited)
    expect(preferredConnection([limited], NOW)).toBe(limited)
  })

  it('reuses no relayed connection that is closing or about to reach its duration limit', () => {
    expect(preferredConnection([connection(RELAYED, { limits: { seconds: 60 }, openedAt: NOW - 58_000 })], NOW)).toBeUndefined()
    expect(preferredConnection([connection(RELAYED, { limits: { seconds: 60 }, status: 'closing' })], NOW)).toBeUndefined()
    expect(withinLimits(connection(RELAYED, { limits: { seconds: 60 }, openedAt: NOW - 10_000 }), NOW)).toBe(true)
  })
})

describe('usableAddresses', () => {
  it('keeps public addresses and circuits through public relays; drops loopback and private ones unless allowed', () => {
    const addresses = [
      `/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWEVEkHwNc1VH6PMRMtmfmQKQSh6pFwfqrQjz8zviiarTR/p2p-circuit`,
      RELAYED,
      '/ip4/192.168.1.2/tcp/40000',
      DIRECT,
      '/dns4/anchor.example.org/tcp/4001/p2p/12D3KooWEVEkHwNc1VH6PMRMtmfmQKQSh6pFwfqrQjz8zviiarTR/p2p-circuit',
      '/ip4/11.18.1.2/udp/40000/quic-v1'
    ].map(a => multiaddr(a))
    expect(usableAddresses(addresses, false).map(a => a.toString())).toEqual([addresses[1], addresses[3], addresses[4]].map(a => a?.toString()))
    expect(usableAddresses(addresses, true)).toHaveLength(5)
    expect(usableAddresses([], false)).toEqual([])
  })
})
