import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A WebRTC(-direct) address, not through a relay. A dial to a dead one runs ICE until it times
 * out (6 s in js-libp2p), where TCP and WebSocket are refused at once.
 */
export function isWebRtcAddress (address: Multiaddr): boolean {
  const names = address.getComponents().map(c => c.name)
  return !names.includes('p2p-circuit') && (names.includes('webrtc-direct') || names.includes('webrtc'))
}
