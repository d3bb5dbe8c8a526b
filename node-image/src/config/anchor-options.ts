import {
  DEFAULT_CIRCUIT_DATA_LIMIT_BYTES, DEFAULT_CIRCUIT_DURATION_LIMIT_MS, DEFAULT_DATA_DIR, DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT, DEFAULT_LISTEN_HOST, DEFAULT_LOG_LEVEL, DEFAULT_MAX_CIRCUITS_PER_PEER, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_PING_INTERVAL_MS,
  DEFAULT_MAX_RESERVATIONS, DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_RESERVATION_TTL_MS, DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_TCP_PORT, DEFAULT_WS_PORT, DEFAULT_REGION, DEFAULT_FLEET, DEFAULT_HEARTBEAT_MS, DEFAULT_MEMBER_TTL_MS,
  DEFAULT_KV_REPLICAS, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_STORAGE_CAPACITY_BYTES, DEFAULT_REPLICATION, DEFAULT_WRITE_QUORUM,
  DEFAULT_PEER_UPLOAD_RATE, DEFAULT_PEER_DAILY_QUOTA, DEFAULT_REPAIR_INTERVAL_MS, DEFAULT_GC_INTERVAL_MS, DEFAULT_GC_GRACE_MS,
  DEFAULT_ANNOUNCE_WAIT_MS,
  DEFAULT_MAX_RESERVATIONS_PER_PREFIX, DEFAULT_MAX_CIRCUITS_PER_PAIR, DEFAULT_MAX_CIRCUITS_PER_PREFIX_TO_PEER, DEFAULT_CIRCUIT_IDLE_TIMEOUT_MS,
  DEFAULT_PREFIX_UPLOAD_RATE, DEFAULT_PREFIX_DAILY_QUOTA, DEFAULT_PREFIX_SHARE, DEFAULT_LEASE_TTL_MS, DEFAULT_PEER_LEASE_QUOTA,
  DEFAULT_STORE_INFLIGHT_BYTES, DEFAULT_DHT_MAX_RECORDS, DEFAULT_DHT_MAX_RECORDS_PER_PEER, PEERING_REFRESH_MS
} from './anchor-defaults.js'
import {
  DEFAULT_WEBRTC_DIRECT_PORT, DEFAULT_WEBRTC_DIRECT_ROTATION_PORT, DEFAULT_WEBRTC_DIRECT_CERT_LIFETIME_MS,
  DEFAULT_WEBRTC_DIRECT_CERT_OVERLAP_MS, DEFAULT_WSS_RELOAD_INTERVAL_MS
} from './anchor-defaults.js'

/** How a text value (flag, env var) is read. File values of the matching JSON type are taken as they are. */
export const OPTION_KINDS = ['string', 'port', 'count', 'size', 'size-limit', 'duration', 'duration-limit', 'boolean', 'list', 'fraction'] as const
export type OptionKind = (typeof OPTION_KINDS)[number]

export interface OptionSpec {
  /** Dotted path in the config object and config file, e.g. `relay.maxReservations`. */
  readonly path: string
  readonly kind: OptionKind
  readonly description: string
  /** The default as a user would write it, for `--help`. */
  readonly defaultText: string
}

/**
 * Every anchor option. Flags and environment variables are derived from `path`:
 * `relay.maxReservations` → `--relay-max-reservations` and `MEGANET_RELAY_MAX_RESERVATIONS`.
 */
export const ANCHOR_OPTIONS: readonly OptionSpec[] = [
  { path: 'dataDir', kind: 'string', defaultText: DEFAULT_DATA_DIR, description: 'folder for the identity key and state' },
  { path: 'identityFile', kind: 'string', defaultText: '<dataDir>/identity.key', description: 'Ed25519 private key (libp2p protobuf bytes) to load instead of the one in dataDir, e.g. a mounted Secret' },
  { path: 'roles', kind: 'list', defaultText: 'bootstrap,relay,storage', description: 'comma-separated roles: bootstrap, relay, storage' },
  { path: 'listen.host', kind: 'string', defaultText: DEFAULT_LISTEN_HOST, description: 'address the libp2p listeners bind' },
  { path: 'listen.tcpPort', kind: 'port', defaultText: String(DEFAULT_TCP_PORT), description: 'libp2p TCP port (0 picks a free one)' },
  { path: 'listen.wsPort', kind: 'port', defaultText: String(DEFAULT_WS_PORT), description: 'libp2p WebSocket port (0 picks a free one); also WebSocket over TLS (/tls/ws) when wss.certFile is given' },
  { path: 'listen.webrtcDirectPort', kind: 'port', defaultText: String(DEFAULT_WEBRTC_DIRECT_PORT), description: 'UDP port of the WebRTC-direct listener browsers dial (0 picks a free one)' },
  { path: 'listen.webrtcDirectRotationPort', kind: 'port', defaultText: String(DEFAULT_WEBRTC_DIRECT_ROTATION_PORT), description: 'second WebRTC-direct UDP port: while certificates rotate the new one is served here beside the old one (the two ports take turns; expose both)' },
  { path: 'webrtcDirect.enabled', kind: 'boolean', defaultText: 'true', description: 'serve WebRTC-direct (browsers reach the anchor with no domain name or CA certificate)' },
  { path: 'webrtcDirect.certificateLifetime', kind: 'duration', defaultText: '30d', description: 'how long each WebRTC-direct certificate (kept in dataDir, so its /certhash/ survives restarts) is valid' },
  { path: 'webrtcDirect.certificateOverlap', kind: 'duration', defaultText: '7d', description: 'how long before a WebRTC-direct certificate expires the next one is made and announced beside it (at most half the lifetime)' },
  { path: 'wss.certFile', kind: 'string', defaultText: '(none: no WSS)', description: 'PEM certificate (chain) for WSS (/tls/ws on listen.wsPort), e.g. tls.crt of a mounted kubernetes.io/tls Secret; reloaded when it changes' },
  { path: 'wss.keyFile', kind: 'string', defaultText: '(none)', description: 'PEM private key of wss.certFile, e.g. tls.key of the same Secret' },
  { path: 'wss.reloadInterval', kind: 'duration', defaultText: '30s', description: 'how often the WSS certificate and key files are checked for changes' },
  { path: 'announce', kind: 'list', defaultText: '(listen addresses)', description: 'comma-separated multiaddrs to advertise instead of the listen addresses (public IP, load balancer)' },
  { path: 'announceFile', kind: 'string', defaultText: '(none)', description: 'file the operator writes this anchor\'s external addresses to (JSON {node?, addresses}); they are announced too, and a change restarts the anchor' },
  { path: 'announceWait', kind: 'duration', defaultText: '2m', description: 'how long the anchor waits at start for its announceFile entry before it starts without it' },
  { path: 'bootstrap', kind: 'list', defaultText: '(none)', description: 'comma-separated multiaddrs of other anchors, each ending in /p2p/<peerId>' },
  { path: 'peering', kind: 'list', defaultText: '(none)', description: 'other operators\' fleets to peer with, comma-separated, each <bootstrap list URL>#<pinned anchor PeerId>[+<PeerId>...]: their anchors join this DHT, their lists go into this anchor\'s list, and nothing else is shared' },
  { path: 'peeringRefresh', kind: 'duration', defaultText: '5m', description: 'how often each peered fleet\'s signed list is fetched again (its anchors change)' },
  { path: 'http.host', kind: 'string', defaultText: DEFAULT_HTTP_HOST, description: 'address the HTTP server (health, metrics, status, bootstrap list) binds' },
  { path: 'http.port', kind: 'port', defaultText: String(DEFAULT_HTTP_PORT), description: 'HTTP port (0 picks a free one)' },
  { path: 'relay.maxReservations', kind: 'count', defaultText: String(DEFAULT_MAX_RESERVATIONS), description: 'relay reservations held at once' },
  { path: 'relay.reservationTtl', kind: 'duration', defaultText: '1h', description: 'how long a reservation lasts before the peer must renew it' },
  { path: 'relay.maxReservationsPerIp', kind: 'count', defaultText: String(DEFAULT_MAX_RESERVATIONS_PER_IP), description: 'reservations from one IP address (0 = no cap)' },
  { path: 'relay.maxReservationsPerPrefix', kind: 'count', defaultText: String(DEFAULT_MAX_RESERVATIONS_PER_PREFIX), description: 'reservations from one network: IPv4 /24 or IPv6 /56 (0 = no cap); an IPv6 /64 counts as one IP' },
  { path: 'relay.maxCircuitsPerPeer', kind: 'count', defaultText: String(DEFAULT_MAX_CIRCUITS_PER_PEER), description: 'open relayed connections a peer may be source or destination of (0 = no cap)' },
  { path: 'relay.maxCircuitsPerPair', kind: 'count', defaultText: String(DEFAULT_MAX_CIRCUITS_PER_PAIR), description: 'open relayed connections from one source peer to one destination (0 = no cap)' },
  { path: 'relay.maxCircuitsPerPrefixToPeer', kind: 'count', defaultText: String(DEFAULT_MAX_CIRCUITS_PER_PREFIX_TO_PEER), description: 'open relayed connections from one source network (/24, /56) to one destination (0 = no cap)' },
  { path: 'relay.circuitIdleTimeout', kind: 'duration-limit', defaultText: '2m', description: 'a relayed connection carrying next to nothing (keepalives only) for this long is closed; "unlimited" keeps it' },
  { path: 'relay.circuitDataLimit', kind: 'size-limit', defaultText: '128MiB', description: 'bytes one relayed connection may carry (both directions) before it is closed; "unlimited" lifts it' },
  { path: 'relay.circuitDurationLimit', kind: 'duration-limit', defaultText: '30m', description: 'how long one relayed connection may stay open; "unlimited" lifts it' },
  { path: 'connections.max', kind: 'count', defaultText: String(DEFAULT_MAX_CONNECTIONS), description: 'open connections before the connection manager prunes' },
  { path: 'connections.maxPendingInbound', kind: 'count', defaultText: String(DEFAULT_MAX_PENDING_INBOUND), description: 'inbound connections still in their handshake at once (each WebRTC-direct port keeps its own count); more are refused; one address gets at most half of them (or 8), and over TCP and WebSockets one /24 or /56 at most half (or 16)' },
  { path: 'connections.pingInterval', kind: 'duration', defaultText: '1m', description: 'how often every connection is pinged; one that does not answer is closed (and its reservation freed)' },
  { path: 'dht.allowPrivateAddresses', kind: 'boolean', defaultText: 'false', description: 'keep private and loopback addresses in DHT records (devnets and LANs only)' },
  { path: 'dht.maxRecords', kind: 'count', defaultText: String(DEFAULT_DHT_MAX_RECORDS), description: 'DHT provider records, and value records, this anchor keeps at most (each)' },
  { path: 'dht.maxRecordsPerPeer', kind: 'count', defaultText: String(DEFAULT_DHT_MAX_RECORDS_PER_PEER), description: 'DHT records one peer may store here (fleet anchors are not limited)' },
  { path: 'storage.capacity', kind: 'size', defaultText: '10GiB', description: 'bytes of blocks this anchor stores before refusing puts' },
  { path: 'storage.replication', kind: 'count', defaultText: String(DEFAULT_REPLICATION), description: 'anchors each block is placed on (R)' },
  { path: 'storage.writeQuorum', kind: 'count', defaultText: String(DEFAULT_WRITE_QUORUM), description: 'anchors that must hold a block before a put is acknowledged' },
  { path: 'storage.peerRate', kind: 'size-limit', defaultText: '32MiB', description: 'bytes per second one peer may upload; "unlimited" lifts it' },
  { path: 'storage.peerQuota', kind: 'size-limit', defaultText: '1GiB', description: 'bytes one peer may upload through this anchor per 24 hours; "unlimited" lifts it' },
  { path: 'storage.prefixRate', kind: 'size-limit', defaultText: '64MiB', description: 'bytes per second one network (IPv4 /24, IPv6 /56) may upload; "unlimited" lifts it' },
  { path: 'storage.prefixQuota', kind: 'size-limit', defaultText: '4GiB', description: 'bytes one network may upload through this anchor per 24 hours; "unlimited" lifts it' },
  { path: 'storage.prefixShare', kind: 'fraction', defaultText: String(DEFAULT_PREFIX_SHARE), description: 'share of the capacity one network may hold through this anchor (recent uploads and leases), e.g. 0.1 or 10%' },
  { path: 'storage.leaseTtl', kind: 'duration', defaultText: '30d', description: 'how long a pin (lease) lasts unless its owner renews it' },
  { path: 'storage.peerLeaseQuota', kind: 'size-limit', defaultText: '1GiB', description: 'bytes one peer may keep under leases (pins) through this anchor; "unlimited" lifts it' },
  { path: 'storage.grantKeys', kind: 'list', defaultText: '(none)', description: 'comma-separated PeerIds of keys whose signed storage grants lift a holder\'s limits' },
  { path: 'storage.maxInflight', kind: 'size', defaultText: '64MiB', description: 'bytes of blocks the store protocol may hold in memory for requests in flight, all peers together' },
  { path: 'storage.repairInterval', kind: 'duration', defaultText: '1m', description: 'how often blocks are checked on their anchors and copies restored' },
  { path: 'storage.gcInterval', kind: 'duration', defaultText: '1h', description: 'how often unreferenced blocks are collected' },
  { path: 'storage.gcGrace', kind: 'duration', defaultText: '24h', description: 'how long an unpinned block nobody references is kept' },
  { path: 'fleet.region', kind: 'string', defaultText: DEFAULT_REGION, description: 'region this anchor serves (a DNS label); scopes coordination names' },
  { path: 'fleet.name', kind: 'string', defaultText: DEFAULT_FLEET, description: 'fleet (AnchorFleet) this anchor belongs to (a DNS label)' },
  { path: 'fleet.pod', kind: 'string', defaultText: '$POD_NAME or the host name', description: 'pod name reported in the membership record' },
  { path: 'nats.servers', kind: 'list', defaultText: '(none: no coordination)', description: 'comma-separated NATS URLs; the anchor coordinates with its fleet through them' },
  { path: 'nats.credsFile', kind: 'string', defaultText: '(none)', description: 'NATS credentials file (JWT + nkey seed), e.g. from a mounted Secret' },
  { path: 'nats.nkeySeedFile', kind: 'string', defaultText: '(none)', description: 'file holding an nkey seed to authenticate with' },
  { path: 'nats.identityNkey', kind: 'boolean', defaultText: 'false', description: 'authenticate to NATS with the anchor\'s own identity key as an nkey: the server grants permissions per PeerId, no credentials file' },
  { path: 'nats.user', kind: 'string', defaultText: '(none)', description: 'NATS user name' },
  { path: 'nats.password', kind: 'string', defaultText: '(none)', description: 'NATS password (prefer the env var or a file over a flag)' },
  { path: 'nats.tls.caFile', kind: 'string', defaultText: '(none)', description: 'CA bundle to verify the NATS servers with (enables TLS)' },
  { path: 'nats.tls.certFile', kind: 'string', defaultText: '(none)', description: 'client certificate for mutual TLS' },
  { path: 'nats.tls.keyFile', kind: 'string', defaultText: '(none)', description: 'client key for mutual TLS' },
  { path: 'coordination.operatorKeys', kind: 'list', defaultText: '(none: drain and undrain are refused)', description: 'comma-separated PeerIds of the operator keys whose signed commands this anchor obeys' },
  { path: 'coordination.heartbeat', kind: 'duration', defaultText: '5s', description: 'how often the membership record (with load) is rewritten' },
  { path: 'coordination.memberTtl', kind: 'duration', defaultText: '15s', description: 'a record not rewritten for this long is dropped (crashed anchor)' },
  { path: 'coordination.replicas', kind: 'count', defaultText: String(DEFAULT_KV_REPLICAS), description: 'JetStream replicas for the KV buckets this anchor creates (1, 3 or 5)' },
  { path: 'coordination.drainTimeout', kind: 'duration', defaultText: '5m', description: 'how long a drain waits for peers to move before disconnecting the rest' },
  { path: 'log.level', kind: 'string', defaultText: DEFAULT_LOG_LEVEL, description: 'trace, debug, info, warn, error or fatal' },
  { path: 'shutdownGrace', kind: 'duration', defaultText: '10s', description: 'how long SIGTERM waits for connections to close before exiting' }
]

/** Defaults as a config-file-shaped object. */
export const ANCHOR_DEFAULTS = {
  dataDir: DEFAULT_DATA_DIR,
  roles: ['bootstrap', 'relay', 'storage'],
  listen: {
    host: DEFAULT_LISTEN_HOST,
    tcpPort: DEFAULT_TCP_PORT,
    wsPort: DEFAULT_WS_PORT,
    webrtcDirectPort: DEFAULT_WEBRTC_DIRECT_PORT,
    webrtcDirectRotationPort: DEFAULT_WEBRTC_DIRECT_ROTATION_PORT
  },
  webrtcDirect: { enabled: true, certificateLifetime: DEFAULT_WEBRTC_DIRECT_CERT_LIFETIME_MS, certificateOverlap: DEFAULT_WEBRTC_DIRECT_CERT_OVERLAP_MS },
  wss: { reloadInterval: DEFAULT_WSS_RELOAD_INTERVAL_MS },
  announce: [],
  announceWait: DEFAULT_ANNOUNCE_WAIT_MS,
  bootstrap: [],
  peering: [],
  peeringRefresh: PEERING_REFRESH_MS,
  http: { host: DEFAULT_HTTP_HOST, port: DEFAULT_HTTP_PORT },
  relay: {
    maxReservations: DEFAULT_MAX_RESERVATIONS,
    reservationTtl: DEFAULT_RESERVATION_TTL_MS,
    maxReservationsPerIp: DEFAULT_MAX_RESERVATIONS_PER_IP,
    maxReservationsPerPrefix: DEFAULT_MAX_RESERVATIONS_PER_PREFIX,
    maxCircuitsPerPeer: DEFAULT_MAX_CIRCUITS_PER_PEER,
    maxCircuitsPerPair: DEFAULT_MAX_CIRCUITS_PER_PAIR,
    maxCircuitsPerPrefixToPeer: DEFAULT_MAX_CIRCUITS_PER_PREFIX_TO_PEER,
    circuitIdleTimeout: DEFAULT_CIRCUIT_IDLE_TIMEOUT_MS,
    circuitDataLimit: DEFAULT_CIRCUIT_DATA_LIMIT_BYTES,
    circuitDurationLimit: DEFAULT_CIRCUIT_DURATION_LIMIT_MS
  },
  connections: { max: DEFAULT_MAX_CONNECTIONS, maxPendingInbound: DEFAULT_MAX_PENDING_INBOUND, pingInterval: DEFAULT_PING_INTERVAL_MS },
  dht: { allowPrivateAddresses: false, maxRecords: DEFAULT_DHT_MAX_RECORDS, maxRecordsPerPeer: DEFAULT_DHT_MAX_RECORDS_PER_PEER },
  storage: {
    capacity: DEFAULT_STORAGE_CAPACITY_BYTES,
    replication: DEFAULT_REPLICATION,
    writeQuorum: DEFAULT_WRITE_QUORUM,
    peerRate: DEFAULT_PEER_UPLOAD_RATE,
    peerQuota: DEFAULT_PEER_DAILY_QUOTA,
    prefixRate: DEFAULT_PREFIX_UPLOAD_RATE,
    prefixQuota: DEFAULT_PREFIX_DAILY_QUOTA,
    prefixShare: DEFAULT_PREFIX_SHARE,
    leaseTtl: DEFAULT_LEASE_TTL_MS,
    peerLeaseQuota: DEFAULT_PEER_LEASE_QUOTA,
    grantKeys: [],
    maxInflight: DEFAULT_STORE_INFLIGHT_BYTES,
    repairInterval: DEFAULT_REPAIR_INTERVAL_MS,
    gcInterval: DEFAULT_GC_INTERVAL_MS,
    gcGrace: DEFAULT_GC_GRACE_MS
  },
  fleet: { region: DEFAULT_REGION, name: DEFAULT_FLEET },
  nats: { servers: [], identityNkey: false, tls: {} },
  coordination: {
    operatorKeys: [],
    heartbeat: DEFAULT_HEARTBEAT_MS,
    memberTtl: DEFAULT_MEMBER_TTL_MS,
    replicas: DEFAULT_KV_REPLICAS,
    drainTimeout: DEFAULT_DRAIN_TIMEOUT_MS
  },
  log: { level: DEFAULT_LOG_LEVEL },
  shutdownGrace: DEFAULT_SHUTDOWN_GRACE_MS
} as const

export function flagName (path: string): string {
  return path.replace(/\./g, '-').replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
}

export function envName (path: string): string {
  return `MEGANET_${path.replace(/\./g, '_').replace(/[A-Z]/g, c => `_${c}`).toUpperCase()}`
}
