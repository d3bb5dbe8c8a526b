/**
 * libp2p protocol ids that make MegaNet a network of its own, separate from IPFS.
 */
export const PROTOCOLS = {
  /** Kademlia DHT served by anchors (same wire format as libp2p kad, another network). */
  dht: '/meganet/kad/1.0.0',
  /** Direct messages between peers (length-prefixed frames, each acknowledged). */
  message: '/meganet/msg/1.0.0',
  /** Ask an anchor where a peer is (peer directory first); JSON in length-prefixed frames. */
  lookup: '/meganet/lookup/1.0.0',
  /** Anchor-to-peer notices, e.g. "this anchor is draining: move to these". */
  notice: '/meganet/notice/1.0.0',
  /** Block storage on anchors. */
  store: '/meganet/store/1.0.0'
} as const

/** libp2p's circuit relay v2 (the spec's names): anchors with the relay role serve hop; peers holding a reservation, stop. */
export const RELAY_PROTOCOLS = {
  hop: '/libp2p/circuit/relay/0.2.0/hop',
  stop: '/libp2p/circuit/relay/0.2.0/stop'
} as const

export type ProtocolName = keyof typeof PROTOCOLS
export type ProtocolId = (typeof PROTOCOLS)[ProtocolName]
