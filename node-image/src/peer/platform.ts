import { autoNAT } from '@libp2p/autonat'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { webSockets } from '@libp2p/websockets'
import { directConnections } from './direct-connections.js'
import type { DirectUpgrade, PlatformInit, PlatformLibp2p, PlatformName } from './platform-types.js'

/**
 * Node: TCP (dialling from its listen port) and WebSocket to anchors, circuit relay, and what
 * goes direct after meeting through a relay: addresses confirmed by the anchors, and dcutr
 * (`direct-connections.ts`); autoNAT to learn whether this peer is reachable. Bundlers building for browsers take
 * `platform.browser.ts` instead (package.json "browser" field).
 */
export const PLATFORM: PlatformName = 'node'

export function platformLibp2p (init: PlatformInit): PlatformLibp2p {
  const direct = directConnections({ isAnchor: init.isAnchor })
  return {
    transports: [direct.tcp, webSockets(), circuitRelayTransport()],
    listen: init.listenTcp ? ['/ip4/0.0.0.0/tcp/0'] : [],
    services: { autoNAT: autoNAT(), ...direct.services }
  }
}

/** Node has no network-change event: apps call `MeganetPeer.networkChanged()` when they know. */
export function watchNetwork (_onChange: () => void): () => void {
  return () => {}
}

/** dcutr upgrades relayed connections on its own when this peer listens on TCP. */
export const directUpgrade: DirectUpgrade = async (node, peer) =>
  await Promise.resolve(node.getConnections(peer).some(c => c.limits == null && !c.remoteAddr.toString().includes('/p2p-circuit')))
