import { dcutr } from '@libp2p/dcutr'
import { observedAddresses } from './observed-addresses.js'
import { ReusePortTcp } from './reuse-port-tcp.js'
import type { ObservedAddresses } from './observed-addresses.js'
import type { TCPComponents } from '@libp2p/tcp'
import type { PeerId } from '@libp2p/interface'

export interface DirectConnectionsInit {
  /** Whether a peer is one of the anchors this peer trusts to observe its address. */
  readonly isAnchor: (peer: PeerId) => boolean
}

/**
 * What a Node peer needs to go direct after meeting through a relay: TCP whose dials leave from
 * its listen port (with `listenTcp`), the confirmation that turns anchors' observations into an
 * announced address, and DCUtR. Kept apart from the rest of the node's setup so transports per
 * platform can change around it.
 */
export function directConnections (init: DirectConnectionsInit) {
  let transport: ReusePortTcp | undefined
  return {
    tcp: (components: TCPComponents): ReusePortTcp => (transport = new ReusePortTcp(components)),
    services: {
      observedAddresses: observedAddresses({
        isObserver: init.isAnchor,
        fromListenPort: connection => transport?.sharesListenPort(connection) ?? false
      }),
      dcutr: dcutr()
    }
  }
}

export type { ObservedAddresses }
