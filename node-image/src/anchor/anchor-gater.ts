import { isWebRtcAddress } from '../net/webrtc-address.js'
import type { ConnectionGater } from '@libp2p/interface'

export interface AnchorGaterInit {
  readonly relayHooks: Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'>
  /**
   * False while the anchor is starting: inbound connections are then closed before their
   * handshake. After a restart thousands of peers dial at once; handshakes accepted during the
   * start took the event loop from it (a 2,000-peer storm stretched a 3 s start to 29 s) and
   * timed out on the peers, wasted.
   */
  readonly admitting: () => boolean
}

/**
 * The anchor's connection gater: the relay guard's hooks, no inbound connection until the
 * anchor has started, and no outbound WebRTC dials. Anchors
 * listen on WebRTC-direct for browsers but reach each other (and anything the DHT names) over
 * TCP or WebSocket. A by-PeerId dial of a dead anchor otherwise ran ICE on its WebRTC-direct
 * address for 6 s after TCP was refused, and every DHT walk through a fleet that just went
 * down waited on it; nor should any address a DHT answer names make an anchor send STUN to it.
 */
export function anchorConnectionGater ({ relayHooks, admitting }: AnchorGaterInit): ConnectionGater {
  return {
    ...relayHooks,
    denyInboundConnection: () => !admitting(),
    denyDialMultiaddr: address => isWebRtcAddress(address)
  }
}
