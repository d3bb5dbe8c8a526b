import { isPublicAddress } from '../net/public-address.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const DIALABLE = new Set(['tcp', 'ws', 'wss', 'p2p-circuit', 'webrtc', 'webrtc-direct'])

/**
 * The addresses from a lookup this peer could dial: a transport it has, and (unless private
 * addresses are allowed, as on a devnet or LAN) a public first hop. A circuit address is judged
 * by its relay's address.
 */
export function usableAddresses (addresses: readonly Multiaddr[], allowPrivateAddresses: boolean): Multiaddr[] {
  return addresses.filter(address => {
    const components = address.getComponents()
    if (!components.some(c => DIALABLE.has(c.name))) return false
    if (allowPrivateAddresses) return true
    const host = components.find(c => c.name === 'ip4' || c.name === 'ip6')
    return host == null || isPublicAddress(address)
  })
}
