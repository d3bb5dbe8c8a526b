/**
 * The DHT peer directory: where a peer can be reached, signed by the peer itself, stored on
 * the anchors closest to its key in the DHT. It needs no NATS and no trust in any operator, so
 * it is how lookups cross between operators' fleets.
 *
 * Key: the UTF-8 bytes of `/<PEER_RECORD_NAMESPACE>/<PeerId as base58btc>`.
 *
 * Value: a libp2p signed envelope (domain `libp2p-peer-record`) holding a libp2p `PeerRecord`,
 * the same record a peer already sends in identify. A verifier checks, in order: size at most
 * {@link MAX_PEER_RECORD_BYTES}; the envelope's signature; the signing key is the key's PeerId
 * and the record names that PeerId; at most {@link MAX_PEER_RECORD_ADDRESSES} addresses; and the
 * sequence number, read as the time the peer signed (milliseconds in js-libp2p, nanoseconds in
 * go-libp2p), is neither more than {@link PEER_RECORD_CLOCK_SKEW_MS} ahead nor older than
 * {@link MAX_PEER_RECORD_AGE_MS}. Of several valid records the highest sequence number wins,
 * and an anchor never replaces a stored record with a lower one.
 */
export const PEER_RECORD_NAMESPACE = 'mgpeer'

export const MAX_PEER_RECORD_BYTES = 4096
export const MAX_PEER_RECORD_ADDRESSES = 32
/**
 * A record older than this is stale. js-libp2p peers sign a fresh one whenever asked to
 * identify, so their anchors refresh it; go-libp2p signs a new one only when its addresses
 * change, so a go peer whose addresses stay the same for a day drops out of the DHT directory
 * (its anchor's fleet still finds it).
 */
export const MAX_PEER_RECORD_AGE_MS = 24 * 60 * 60 * 1000
export const PEER_RECORD_CLOCK_SKEW_MS = 5 * 60 * 1000

/** How many valid records a lookup waits for before it picks the newest (fewer if the walk ends first). */
export const PEER_RECORD_QUORUM = 2

/** Why a record was not believed (`meganet_dht_peer_records_rejected_total{reason}`). */
export const PEER_RECORD_REJECTIONS = ['oversized', 'malformed', 'bad-signature', 'wrong-peer', 'too-many-addresses', 'future', 'stale', 'older'] as const
export type PeerRecordRejection = (typeof PEER_RECORD_REJECTIONS)[number]

export function peerRecordKeyText (peerId: string): string {
  return `/${PEER_RECORD_NAMESPACE}/${peerId}`
}
