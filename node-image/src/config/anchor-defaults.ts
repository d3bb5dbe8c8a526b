/** Every anchor default, in one place, beside the option table that reads them. Tests import these instead of repeating numbers. */

export const DEFAULT_TCP_PORT = 4001
export const DEFAULT_WS_PORT = 4002
export const DEFAULT_HTTP_PORT = 9464
export const DEFAULT_LISTEN_HOST = '0.0.0.0'
export const DEFAULT_HTTP_HOST = '0.0.0.0'
export const DEFAULT_DATA_DIR = './meganet-data'
export const IDENTITY_FILE_NAME = 'identity.key'

/** Room for thousands of reserved peers per anchor (js-libp2p defaults to 15, go-libp2p to 128). */
export const DEFAULT_MAX_RESERVATIONS = 10_000
/** go-libp2p's relay default. */
export const DEFAULT_RESERVATION_TTL_MS = 60 * 60 * 1000
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
export const DEFAULT_LOG_LEVEL = 'info'

/** How long a signed bootstrap list stays valid. */
export const BOOTSTRAP_LIST_TTL_MS = 24 * 60 * 60 * 1000

export const DEFAULT_REGION = 'local'
export const DEFAULT_FLEET = 'default'
/** How often an anchor rewrites its membership record (with its load). */
export const DEFAULT_HEARTBEAT_MS = 5_000
/** A record not rewritten for this long is gone: the anchor crashed or lost NATS. */
export const DEFAULT_MEMBER_TTL_MS = 15_000
export const DEFAULT_KV_REPLICAS = 1
export const DEFAULT_STORAGE_CAPACITY_BYTES = 10 * 1024 ** 3
export const DEFAULT_REPLICATION = 3
export const DEFAULT_WRITE_QUORUM = 2
export const DEFAULT_PEER_UPLOAD_RATE = 32 * 1024 * 1024
export const DEFAULT_PEER_DAILY_QUOTA = 10 * 1024 ** 3
export const DEFAULT_REPAIR_INTERVAL_MS = 60_000
export const DEFAULT_GC_INTERVAL_MS = 60 * 60 * 1000
/** An unpinned block nobody referenced for this long is garbage (long enough for any upload to finish). */
export const DEFAULT_GC_GRACE_MS = 24 * 60 * 60 * 1000
/** How long a drain waits for peers to move before it disconnects the rest. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5 * 60 * 1000
