import { isLinkLocal, isLoopback, isPrivate } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'

/** An address other hosts on the internet could dial: not loopback, private or link-local. */
export function isPublicAddress (address: Multiaddr): boolean {
  return !isLoopback(address) && isPrivate(address) !== true && !isLinkLocal(address)
}
