import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { webRTC, webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import type { DirectUpgrade, PlatformInit, PlatformLibp2p, PlatformName } from './platform-types.js'

/**
 * Browsers: WebRTC-direct and WSS (or plain WebSocket from an http:// page) to anchors, circuit
 * relay, and WebRTC between browsers with the relay carrying the SDP signalling (the
 * browser's hole punching: dcutr needs a listening socket, which a page cannot have).
 */
export const PLATFORM: PlatformName = 'browser'

export function platformLibp2p (init: PlatformInit): PlatformLibp2p {
  return {
    transports: [
      webSockets(),
      webRTCDirect({ rtcConfiguration: { iceServers: [] } }),
      // No third-party STUN servers unless the app names some: without one, two pages go direct
      // when a host candidate reaches (same network); otherwise they stay relayed.
      webRTC({ rtcConfiguration: { iceServers: init.iceServers.map(urls => ({ urls })) } }),
      circuitRelayTransport()
    ],
    // Reachable for WebRTC at <relay circuit address>/webrtc once a reservation exists.
    listen: ['/webrtc'],
    services: {},
    // libp2p's browser gater, spelled out so the peer can add to it: no private or loopback
    // addresses and no insecure WebSocket, unless told otherwise (devnets).
    connectionGater: { denyDialMultiaddr: async ma => await Promise.resolve(!init.allowPrivateAddresses && (WebSockets.matches(ma) || isPrivate(ma))) }
  }
}

/** The page came back online or its connection type changed (Wi-Fi to cellular). */
export function watchNetwork (onChange: () => void): () => void {
  const connection = (navigator as Navigator & { connection?: EventTarget }).connection
  const page = globalThis as unknown as EventTarget
  page.addEventListener('online', onChange)
  connection?.addEventListener('change', onChange)
  return () => {
    page.removeEventListener('online', onChange)
    connection?.removeEventListener('change', onChange)
  }
}

function isDirect (address: string): boolean {
  return !address.includes('/p2p-circuit') || address.includes('/webrtc/')
}

/** Dials the peer's `/p2p-circuit/webrtc` address: SDP over the relayed connection, then a direct data channel. */
export const directUpgrade: DirectUpgrade = async (node, peer, signal) => {
  const connections = node.getConnections(peer)
  if (connections.some(c => c.limits == null && isDirect(c.remoteAddr.toString()))) return true
  const relayed = connections.find(c => c.remoteAddr.toString().includes('/p2p-circuit'))
  if (relayed == null) return false
  const base = relayed.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, '')
  const connection = await node.dial(multiaddr(`${base}/webrtc/p2p/${peer.toString()}`), { signal })
  return connection.limits == null
}
