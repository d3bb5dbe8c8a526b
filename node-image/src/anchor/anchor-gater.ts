import { isWebRtcAddress } from '../net/webrtc-address.js'
import type { ConnectionGater } from '@libp2p/interface'

/**
 * The anchor's connection gater: the relay guard's hooks, and no outbound WebRTC dials. Anchors
 * listen on WebRTC-direct for browsers but reach each other (and anything the DHT names) over
 * TCP or WebSocket. A by-PeerId dial of a dead anchor otherwise ran ICE on its WebRTC-direct
 * address for 6 s after TCP was refused, and every DHT walk through a fleet that just went
 * down waited on it; nor should any address a DHT answer names make an anchor send STUN to it.
 */
export function anchorConnectionGater (relayHooks: Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'>): ConnectionGater {
  return {
    ...relayHooks,
    denyDialMultiaddr: address => isWebRtcAddress(address)
  }
}
