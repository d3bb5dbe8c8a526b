import { autoNAT } from '@libp2p/autonat'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { DirectUpgrade, PlatformInit, PlatformLibp2p, PlatformName } from './platform-types.js'

/**
 * Node: TCP and WebSocket to anchors, circuit relay, and dcutr to go direct (with autoNAT to
 * learn whether this peer is reachable). Bundlers building for browsers take
 * `platform.browser.ts` instead (package.json "browser" field).
 */
export const PLATFORM: PlatformName = 'node'

export function platformLibp2p (init: PlatformInit): PlatformLibp2p {
  return {
    transports: [tcp(), webSockets(), circuitRelayTransport()],
    listen: init.listenTcp ? ['/ip4/0.0.0.0/tcp/0'] : [],
    services: { autoNAT: autoNAT(), dcutr: dcutr() }
  }
}

/** Node has no network-change event: apps call `MeganetPeer.networkChanged()` when they know. */
export function watchNetwork (_onChange: () => void): () => void {
  return () => {}
}

/** dcutr upgrades relayed connections on its own when this peer listens on TCP. */
export const directUpgrade: DirectUpgrade = async (node, peer) =>
  await Promise.resolve(node.getConnections(peer).some(c => c.limits == null && !c.remoteAddr.toString().includes('/p2p-circuit')))
