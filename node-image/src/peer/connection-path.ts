import type { Connection } from '@libp2p/interface'

export type ConnectionPath = 'direct' | 'relayed'

/**
 * Whether a connection goes through a relay. A WebRTC connection set up over a relay
 * (`…/p2p-circuit/webrtc/…`) is direct: the relay only carried its signalling.
 */
export function pathOf (connection: Connection): ConnectionPath {
  if (connection.limits != null) return 'relayed'
  const address = connection.remoteAddr.toString()
  return address.includes('/p2p-circuit') && !address.includes('/webrtc') ? 'relayed' : 'direct'
}
