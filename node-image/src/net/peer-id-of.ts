import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The PeerId an address ends in (its last /p2p/…: a circuit address names the relay first), if any. Throws on text that is not a multiaddr. */
export function peerIdOf (address: string | Multiaddr): string | undefined {
  return (typeof address === 'string' ? multiaddr(address) : address).getComponents().findLast(c => c.name === 'p2p')?.value
}
