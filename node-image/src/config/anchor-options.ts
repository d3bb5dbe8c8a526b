import {
  DEFAULT_CIRCUIT_DATA_LIMIT_BYTES, DEFAULT_CIRCUIT_DURATION_LIMIT_MS, DEFAULT_DATA_DIR, DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT, DEFAULT_LISTEN_HOST, DEFAULT_LOG_LEVEL, DEFAULT_MAX_CIRCUITS_PER_PEER, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_INBOUND, DEFAULT_PING_INTERVAL_MS,
  DEFAULT_MAX_RESERVATIONS, DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_RESERVATION_TTL_MS, DEFAULT_SHUTDOWN_GRACE_MS,
  DEFAULT_TCP_PORT, DEFAULT_WS_PORT, DEFAULT_REGION, DEFAULT_FLEET, DEFAULT_HEARTBEAT_MS, DEFAULT_MEMBER_TTL_MS,
  DEFAULT_KV_REPLICAS, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_STORAGE_CAPACITY_BYTES, DEFAULT_REPLICATION, DEFAULT_WRITE_QUORUM,
  DEFAULT_PEER_UPLOAD_RATE, DEFAULT_PEER_DAILY_QUOTA, DEFAULT_REPAIR_INTERVAL_MS, DEFAULT_GC_INTERVAL_MS, DEFAULT_GC_GRACE_MS
} from './anchor-defaults.js'

/** How a text value (flag, env var) is read. File values of the matching JSON type are taken as they are. */
export const OPTION_KINDS = ['string', 'port', 'count', 'size', 'size-limit', 'duration', 'duration-limit', 'boolean', 'list'] as const
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
  { path: 'listen.wsPort', kind: 'port', defaultText: String(DEFAULT_WS_PORT), description: 'libp2p WebSocket port (0 picks a free one)' },
  { path: 'announce', kind: 'list', defaultText: '(listen addresses)', description: 'comma-separated multiaddrs to advertise instead of the listen addresses (public IP, load balancer)' },
  { path: 'bootstrap', kind: 'list', defaultText: '(none)', description: 'comma-separated multiaddrs of other anchors, each ending in /p2p/<peerId>' },
  { path: 'http.host', kind: 'string', defaultText: DEFAULT_HTTP_HOST, description: 'address the HTTP server (health, metrics, status, bootstrap list) binds' },
  { path: 'http.port', kind: 'port', defaultText: String(DEFAULT_HTTP_PORT), description: 'HTTP port (0 picks a free one)' },
  { path: 'relay.maxReservations', kind: 'count', defaultText: String(DEFAULT_MAX_RESERVATIONS), description: 'relay reservations held at once' },
  { path: 'relay.reservationTtl', kind: 'duration', defaultText: '1h', description: 'how long a reservation lasts before the peer must renew it' },
  { path: 'relay.maxReservationsPerIp', kind: 'count', defaultText: String(DEFAULT_MAX_RESERVATIONS_PER_IP), description: 'reservations from one IP address (0 = no cap)' },
  { path: 'relay.maxCircuitsPerPeer', kind: 'count', defaultText: String(DEFAULT_MAX_CIRCUITS_PER_PEER), description: 'open relayed connections a peer may be source or destination of (0 = no cap)' },
  { path: 'relay.circuitDataLimit', kind: 'size-limit', defaultText: '128MiB', description: 'bytes one relayed connection may carry (both directions) before it is closed; "unlimited" lifts it' },
  { path: 'relay.circuitDurationLimit', kind: 'duration-limit', defaultText: '30m', description: 'how long one relayed connection may stay open; "unlimited" lifts it' },
  { path: 'connections.max', kind: 'count', defaultText: String(DEFAULT_MAX_CONNECTIONS), description: 'open connections before the connection manager prunes' },
  { path: 'connections.maxPendingInbound', kind: 'count', defaultText: String(DEFAULT_MAX_PENDING_INBOUND), description: 'inbound connections still in their handshake at once; more are refused' },
  { path: 'connections.pingInterval', kind: 'duration', defaultText: '1m', description: 'how often every connection is pinged; one that does not answer is closed (and its reservation freed)' },
  { path: 'dht.allowPrivateAddresses', kind: 'boolean', defaultText: 'false', description: 'keep private and loopback addresses in DHT records (devnets and LANs only)' },
  { path: 'storage.capacity', kind: 'size', defaultText: '10GiB', description: 'bytes of blocks this anchor stores before refusing puts' },
  { path: 'storage.replication', kind: 'count', defaultText: String(DEFAULT_REPLICATION), description: 'anchors each block is placed on (R)' },
  { path: 'storage.writeQuorum', kind: 'count', defaultText: String(DEFAULT_WRITE_QUORUM), description: 'anchors that must hold a block before a put is acknowledged' },
  { path: 'storage.peerRate', kind: 'size-limit', defaultText: '32MiB', description: 'bytes per second one peer may upload; "unlimited" lifts it' },
  { path: 'storage.peerQuota', kind: 'size-limit', defaultText: '10GiB', description: 'bytes one peer may upload through this anchor per 24 hours; "unlimited" lifts it' },
  { path: 'storage.repairInterval', kind: 'duration', defaultText: '1m', description: 'how often blocks are checked on their anchors and copies restored' },
  { path: 'storage.gcInterval', kind: 'duration', defaultText: '1h', description: 'how often unreferenced blocks are collected' },
  { path: 'storage.gcGrace', kind: 'duration', defaultText: '24h', description: 'how long an unpinned block nobody references is kept' },
  { path: 'fleet.region', kind: 'string', defaultText: DEFAULT_REGION, description: 'region this anchor serves (a DNS label); scopes coordination names' },
  { path: 'fleet.name', kind: 'string', defaultText: DEFAULT_FLEET, description: 'fleet (AnchorFleet) this anchor belongs to (a DNS label)' },
  { path: 'fleet.pod', kind: 'string', defaultText: '$POD_NAME or the host name', description: 'pod name reported in the membership record' },
  { path: 'nats.servers', kind: 'list', defaultText: '(none: no coordination)', description: 'comma-separated NATS URLs; the anchor coordinates with its fleet through them' },
  { path: 'nats.credsFile', kind: 'string', defaultText: '(none)', description: 'NATS credentials file (JWT + nkey seed), e.g. from a mounted Secret' },
  { path: 'nats.nkeySeedFile', kind: 'string', defaultText: '(none)', description: 'file holding an nkey seed to authenticate with' },
  { path: 'nats.user', kind: 'string', defaultText: '(none)', description: 'NATS user name' },
  { path: 'nats.password', kind: 'string', defaultText: '(none)', description: 'NATS password (prefer the env var or a file over a flag)' },
  { path: 'nats.tls.caFile', kind: 'string', defaultText: '(none)', description: 'CA bundle to verify the NATS servers with (enables TLS)' },
  { path: 'nats.tls.certFile', kind: 'string', defaultText: '(none)', description: 'client certificate for mutual TLS' },
  { path: 'nats.tls.keyFile', kind: 'string', defaultText: '(none)', description: 'client key for mutual TLS' },
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
  listen: { host: DEFAULT_LISTEN_HOST, tcpPort: DEFAULT_TCP_PORT, wsPort: DEFAULT_WS_PORT },
  announce: [],
  bootstrap: [],
  http: { host: DEFAULT_HTTP_HOST, port: DEFAULT_HTTP_PORT },
  relay: {
    maxReservations: DEFAULT_MAX_RESERVATIONS,
    reservationTtl: DEFAULT_RESERVATION_TTL_MS,
    maxReservationsPerIp: DEFAULT_MAX_RESERVATIONS_PER_IP,
    maxCircuitsPerPeer: DEFAULT_MAX_CIRCUITS_PER_PEER,
    circuitDataLimit: DEFAULT_CIRCUIT_DATA_LIMIT_BYTES,
    circuitDurationLimit: DEFAULT_CIRCUIT_DURATION_LIMIT_MS
  },
  connections: { max: DEFAULT_MAX_CONNECTIONS, maxPendingInbound: DEFAULT_MAX_PENDING_INBOUND, pingInterval: DEFAULT_PING_INTERVAL_MS },
  dht: { allowPrivateAddresses: false },
  storage: {
    capacity: DEFAULT_STORAGE_CAPACITY_BYTES,
    replication: DEFAULT_REPLICATION,
    writeQuorum: DEFAULT_WRITE_QUORUM,
    peerRate: DEFAULT_PEER_UPLOAD_RATE,
    peerQuota: DEFAULT_PEER_DAILY_QUOTA,
    repairInterval: DEFAULT_REPAIR_INTERVAL_MS,
    gcInterval: DEFAULT_GC_INTERVAL_MS,
    gcGrace: DEFAULT_GC_GRACE_MS
  },
  fleet: { region: DEFAULT_REGION, name: DEFAULT_FLEET },
  nats: { servers: [], tls: {} },
  coordination: {
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
