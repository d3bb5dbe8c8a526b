/** Every anchor default, in one place, beside the option table that reads them. Tests import these instead of repeating numbers. */

export const DEFAULT_TCP_PORT = 4001
export const DEFAULT_WS_PORT = 4002
/** UDP: WebRTC-direct, the way a browser reaches an anchor with no domain name or CA certificate. */
export const DEFAULT_WEBRTC_DIRECT_PORT = 4003
/** UDP: the second WebRTC-direct port; the two take turns serving a new certificate during a rotation. */
export const DEFAULT_WEBRTC_DIRECT_ROTATION_PORT = 4004
/** Each WebRTC-direct certificate is valid this long (js-libp2p's default is 14 days). */
export const DEFAULT_WEBRTC_DIRECT_CERT_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000
/** The next certificate is made (and announced beside the current one) this long before the current one expires. */
export const DEFAULT_WEBRTC_DIRECT_CERT_OVERLAP_MS = 7 * 24 * 60 * 60 * 1000
export const WEBRTC_DIRECT_CERT_FILE = 'webrtc-direct/certificates.json'
/** How often the WSS certificate and key files are read to see whether they changed. */
export const DEFAULT_WSS_RELOAD_INTERVAL_MS = 30_000
export const DEFAULT_HTTP_PORT = 9464
export const DEFAULT_LISTEN_HOST = '0.0.0.0'
export const DEFAULT_HTTP_HOST = '0.0.0.0'
export const DEFAULT_DATA_DIR = './meganet-data'
export const IDENTITY_FILE_NAME = 'identity.key'

/** Room for thousands of reserved peers per anchor (js-libp2p defaults to 15, go-libp2p to 128). */
export const DEFAULT_MAX_RESERVATIONS = 10_000
export { DEFAULT_RESERVATION_TTL_MS } from '@meganet/contracts'
/** go-libp2p's relay default: several peers behind one NAT, not a botnet behind one address. */
export const DEFAULT_MAX_RESERVATIONS_PER_IP = 8
/** go-libp2p's relay default (`MaxCircuits`). */
export const DEFAULT_MAX_CIRCUITS_PER_PEER = 16
/**
 * Relayed connections are meant to carry a hole-punch handshake and modest traffic; the stock
 * 128 KiB silently broke transfers, so the default is generous and `unlimited` lifts it.
 */
export const DEFAULT_CIRCUIT_DATA_LIMIT_BYTES = 128 * 1024 * 1024
export const DEFAULT_CIRCUIT_DURATION_LIMIT_MS = 30 * 60 * 1000

export const DEFAULT_MAX_CONNECTIONS = 20_000
/** libp2p's default of 10 handshakes in flight refuses most of a reconnect storm after a restart. */
export const DEFAULT_MAX_PENDING_INBOUND = 128
/**
 * How often each connection is pinged (spread over the interval): a dead peer's connection, and
 * so its reservation, is freed within this plus PING_TIMEOUT_MS. libp2p's default is 10 s.
 */
export const DEFAULT_PING_INTERVAL_MS = 60_000
/** A connection whose ping gets no answer within this is closed. */
export const PING_TIMEOUT_MS = 10_000
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000
/** How long an anchor with an announce file waits at start for its entry (the operator writes it once the pod is placed). */
export const DEFAULT_ANNOUNCE_WAIT_MS = 2 * 60 * 1000
export const DEFAULT_LOG_LEVEL = 'info'

/** How long a signed bootstrap list stays valid (verifiers accept at most MAX_BOOTSTRAP_LIST_LIFETIME_MS). */
export const BOOTSTRAP_LIST_TTL_MS = 24 * 60 * 60 * 1000
/** The served list is signed again this often even when its anchors did not change. */
export const BOOTSTRAP_LIST_REFRESH_MS = 60 * 60 * 1000

/** Reserved peers' signed records are put into the DHT directory again this often (anchors that restarted lost theirs). */
export const PEER_RECORD_REFRESH_MS = 20 * 60 * 1000
/** DHT puts of peer records in flight at once. */
export const PEER_RECORD_PUT_CONCURRENCY = 4
export const PEER_RECORD_PUT_TIMEOUT_MS = 30_000
/** How long an anchor's lookup waits for the DHT directory. */
export const PEER_RECORD_LOOKUP_TIMEOUT_MS = 2_500

/** Anchors of each peered fleet one anchor keeps connected. */
export const PEERED_ANCHORS_PER_FLEET = 2
/** A peered fleet's signed list is fetched again this often, and first retried this soon after a failure. */
export const PEERING_REFRESH_MS = 5 * 60 * 1000
export const PEERING_RETRY_MS = 5_000

export const DEFAULT_REGION = 'local'
export const DEFAULT_FLEET = 'default'
// The operator creates the coordination buckets with these too, so they live in contracts.
export { DEFAULT_HEARTBEAT_MS, DEFAULT_MEMBER_TTL_MS, DEFAULT_KV_REPLICAS } from '@meganet/contracts'
export const DEFAULT_STORAGE_CAPACITY_BYTES = 10 * 1024 ** 3
export const DEFAULT_REPLICATION = 3
export const DEFAULT_WRITE_QUORUM = 2
export const DEFAULT_PEER_UPLOAD_RATE = 32 * 1024 * 1024
/** A tenth of the default capacity: one PeerId cannot fill an anchor in a day (it used to equal the capacity). */
export const DEFAULT_PEER_DAILY_QUOTA = 1024 ** 3
export const DEFAULT_REPAIR_INTERVAL_MS = 60_000
export const DEFAULT_GC_INTERVAL_MS = 60 * 60 * 1000
/** An unpinned block nobody referenced for this long is garbage (long enough for any upload to finish). */
export const DEFAULT_GC_GRACE_MS = 24 * 60 * 60 * 1000
/** How long a drain waits for peers to move before it disconnects the rest. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5 * 60 * 1000

/** go-libp2p counts 32 reservations per ASN; a /24 (or IPv6 /56) is our stand-in for one network. */
export const DEFAULT_MAX_RESERVATIONS_PER_PREFIX = 32
/** Relayed connections one source may hold to one destination (an honest peer needs one). */
export const DEFAULT_MAX_CIRCUITS_PER_PAIR = 2
/** Relayed connections one source network may hold to one destination: a few networks cannot fill a victim's slots. */
export const DEFAULT_MAX_CIRCUITS_PER_PREFIX_TO_PEER = 4
/** A relayed connection that carries (almost) nothing for this long is closed. */
export const DEFAULT_CIRCUIT_IDLE_TIMEOUT_MS = 2 * 60 * 1000
/** Upload rate of one network (IPv4 /24, IPv6 /56): twice a peer's. */
export const DEFAULT_PREFIX_UPLOAD_RATE = 64 * 1024 * 1024
/** Bytes one network may upload through one anchor per 24 hours. */
export const DEFAULT_PREFIX_DAILY_QUOTA = 4 * 1024 ** 3
/** The share of an anchor's capacity one network may hold through it (uploads within the GC grace and leases). */
export const DEFAULT_PREFIX_SHARE = 0.1
/** How long a pin (lease) lasts unless its owner renews it. */
export const DEFAULT_LEASE_TTL_MS = 30 * 24 * 60 * 60 * 1000
/** Bytes one PeerId may keep under leases through one anchor. */
export const DEFAULT_PEER_LEASE_QUOTA = 1024 ** 3
/** Bytes of blocks the store protocol may hold in memory for requests in flight, all peers together. */
export const DEFAULT_STORE_INFLIGHT_BYTES = 64 * 1024 * 1024
/** DHT records (provider and value records, each kind) an anchor keeps at most. */
export const DEFAULT_DHT_MAX_RECORDS = 100_000
/** DHT records one peer may have stored on an anchor (fleet anchors are not limited). */
export const DEFAULT_DHT_MAX_RECORDS_PER_PEER = 1_000
