import { PROTOCOLS } from '@meganet/contracts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { libp2pLoggerOption } from '../net/libp2p-logger.js'
import { hasCerthashIfWebRTCDirect, rotatingWebRTCDirect } from '../transports/webrtc-direct-listener.js'
import { wssCertificateReloader } from '../transports/wss-certificate.js'
import { anchorConnectionGater } from './anchor-gater.js'
import { publicAddresses } from './public-addresses.js'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { DhtGuard } from '../dht/dht-guard.js'
import type { PeerRecordDhtRules } from '../dht/peer-records.js'
import type { Logger } from '../logging/logger.js'
import type { RotatingWebRTCDirectInit } from '../transports/webrtc-direct-listener.js'
import type { WssCertificate } from '../transports/wss-certificate.js'
import type { RelayGuard } from '../relay/relay-guard.js'
import type { CircuitRelayServerComponents } from '@libp2p/circuit-relay-v2'
import type { KadDHTComponents } from '@libp2p/kad-dht'
import type { PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** setTimeout (and so AbortSignal.timeout) cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1
const MAX_DATA_LIMIT = 2n ** 63n - 1n

/**
 * A relayed stream is paused while the other side of its circuit is full; what the sender may
 * still have in flight (its yamux window) then lands in the stream's read buffer, which aborts
 * past 4 MiB. yamux grows windows to 16 MiB; 2 MiB keeps a paused circuit well inside the limit.
 */
const MAX_STREAM_WINDOW_BYTES = 2 * 1024 * 1024

/**
 * The largest WebSocket message a peer may send: ws buffers each message whole (100 MiB by
 * default). libp2p peers send one Noise message (at most 64 KiB) per WebSocket message.
 */
const MAX_WEBSOCKET_MESSAGE_BYTES = 1024 * 1024

/** Lets several connections from one NAT or one devnet host arrive at once. */
export const INBOUND_CONNECTIONS_PER_SECOND_PER_HOST = 50

/**
 * Inbound connections from one IP address (an IPv6 /64) still in their handshake at once: for
 * TCP and WebSockets once half the handshake slots are taken (so one address gets at most half
 * of them; without it, its silent sockets held all and the anchor refused everyone), and for
 * WebRTC-direct always. {@link PENDING_INBOUND_PER_NETWORK} bounds the hosts of one network together.
 */
export const PENDING_INBOUND_PER_HOST = 8

/**
 * The same for one network (an IPv4 /24, an IPv6 /56: one subscriber, who may hold hundreds of
 * hosts), TCP and WebSockets only: a network gets at most half the slots or this many. Not for
 * WebRTC-direct, whose UDP source addresses can be forged: there a network-wide limit would let
 * anyone shut a whole network out.
 */
export const PENDING_INBOUND_PER_NETWORK = 16

/** WebRTC-direct's handshake limits (per UDP port), as the connection manager's for the other transports. */
function webrtcDirectLimits (config: AnchorConfig): NonNullable<RotatingWebRTCDirectInit['inboundLimits']> {
  return { pending: config.connections.maxPendingInbound, pendingPerHost: PENDING_INBOUND_PER_HOST, perHostPerSecond: INBOUND_CONNECTIONS_PER_SECOND_PER_HOST }
}

function listenAddresses (config: AnchorConfig, webrtcDirectPorts: readonly number[]): string[] {
  const family = config.listen.host.includes(':') ? 'ip6' : 'ip4'
  return [
    `/${family}/${config.listen.host}/tcp/${config.listen.tcpPort}`,
    `/${family}/${config.listen.host}/tcp/${config.listen.wsPort}/ws`,
    ...webrtcDirectPorts.map(port => `/${family}/${config.listen.host}/udp/${port}/webrtc-direct`)
  ]
}

/** Hop streams a peer may have open beyond its circuits: a reservation renewal and a request the guard is refusing. */
const HOP_STREAM_HEADROOM = 2
/** What js-libp2p allows by default: inbound streams of one protocol per connection, and the relay's stop streams. */
const LIBP2P_MAX_INBOUND_STREAMS = 32
const LIBP2P_MAX_STOP_STREAMS = 300

/**
 * Streams of the relay protocols per connection: each open circuit keeps its hop stream (from
 * the source) and its stop stream (to the destination) open. libp2p's caps (32 hop streams,
 * 300 stop streams) reset a peer's 33rd circuit even with the per-peer circuit cap lifted (0);
 * the relay guard's cap (`relay.maxCircuitsPerPeer`) decides, and libp2p's are never lowered.
 */
function relayStreamLimits (config: AnchorConfig): { maxInboundHopStreams: number, maxOutboundStopStreams: number } {
  const perPeer = config.relay.maxCircuitsPerPeer
  if (perPeer === 0) return { maxInboundHopStreams: Number.POSITIVE_INFINITY, maxOutboundStopStreams: Number.POSITIVE_INFINITY }
  return {
    maxInboundHopStreams: Math.max(LIBP2P_MAX_INBOUND_STREAMS, perPeer + HOP_STREAM_HEADROOM),
    maxOutboundStopStreams: Math.max(LIBP2P_MAX_STOP_STREAMS, perPeer + HOP_STREAM_HEADROOM)
  }
}

/** The relay's per-circuit limit; js-libp2p applies data and duration together or not at all. */
function circuitLimits (config: AnchorConfig): { applyDefaultLimit: boolean, defaultDataLimit: bigint, defaultDurationLimit: number } {
  const { circuitDataLimit, circuitDurationLimit } = config.relay
  return {
    applyDefaultLimit: circuitDataLimit != null || circuitDurationLimit != null,
    defaultDataLimit: circuitDataLimit == null ? MAX_DATA_LIMIT : BigInt(circuitDataLimit),
    defaultDurationLimit: circuitDurationLimit ?? MAX_TIMER_MS
  }
}

export interface AnchorLibp2pInit {
  readonly config: AnchorConfig
  readonly privateKey: PrivateKey
  readonly registry: Registry
  readonly guard: RelayGuard
  /** Bounds the DHT's records and inbound streams. */
  readonly dhtGuard: DhtGuard
  /** Validates and chooses signed peer records (the DHT directory). */
  readonly dhtRules: PeerRecordDhtRules
  readonly log: Logger
  /** Whether inbound connections are admitted yet: not while the anchor starts (see anchor-gater.ts). */
  readonly admitting: () => boolean
  /** WebRTC-direct for browsers: the certificates to serve and the two UDP ports they take turns on (concrete ports). */
  readonly webrtcDirect?: RotatingWebRTCDirectInit
  /** WSS for browsers: the certificate the WebSocket listener also serves TLS with. */
  readonly wss?: WssCertificate
}

export async function createAnchorLibp2p ({ config, privateKey, registry, guard, dhtGuard, dhtRules, log, admitting, webrtcDirect, wss }: AnchorLibp2pInit) {
  const relayEnabled = config.roles.includes('relay')
  const relay = circuitRelayServer({
    ...relayStreamLimits(config),
    reservations: { maxReservations: config.relay.maxReservations, reservationTtl: config.relay.reservationTtl, ...circuitLimits(config) }
  })
  return await createLibp2p({
    privateKey,
    start: false,
    ...libp2pLoggerOption(),
    addresses: {
      listen: listenAddresses(config, webrtcDirect?.ports ?? []),
      announce: config.announce,
      // An announced WebRTC-direct address gets its port's certhash; one whose port serves no certificate now is left out.
      announceFilter: addresses => addresses.filter(hasCerthashIfWebRTCDirect)
    },
    transports: [tcp(), webSockets({ maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES }), ...(webrtcDirect != null ? [rotatingWebRTCDirect({ ...webrtcDirect, inboundLimits: webrtcDirectLimits(config) })] : [])],
    connectionEncrypters: [noise()],
    // ConnectionLiveness pings each connection once a minute; yamux's keepalive would add two
    // more pings per connection per minute that close nothing (docs/BENCHMARKS.md, capacity).
    streamMuxers: [yamux({ enableKeepAlive: false, streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW_BYTES } })],
    connectionGater: anchorConnectionGater({ relayHooks: guard.gater, admitting }),
    connectionManager: {
      maxConnections: config.connections.max,
      maxIncomingPendingConnections: config.connections.maxPendingInbound,
      maxIncomingPendingConnectionsPerHost: PENDING_INBOUND_PER_HOST,
      maxIncomingPendingConnectionsPerNetwork: PENDING_INBOUND_PER_NETWORK,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND_PER_HOST
    },
    // ConnectionLiveness pings instead, spread over the interval rather than all at once.
    connectionMonitor: { enabled: false },
    metrics: prometheusMetrics({ registry, preserveExistingMetrics: true }),
    services: {
      // InboundIdentify (anchor.ts) identifies what the anchor needs to know, not every connection on open.
      identify: identify({ runOnConnectionOpen: false }),
      identifyPush: identifyPush(),
      ping: ping(),
      autoNAT: autoNAT(),
      ...(wss != null && config.wss.certFile != null && config.wss.keyFile != null
        ? { wssCertificate: wssCertificateReloader({ certFile: config.wss.certFile, keyFile: config.wss.keyFile, initial: wss, intervalMs: config.wss.reloadInterval, log }) }
        : {}),
      publicAddresses: publicAddresses({ announce: config.announce, privateNetwork: config.dht.allowPrivateAddresses, log }),
      dht: (components: KadDHTComponents) => kadDHT({
        protocol: PROTOCOLS.dht,
        clientMode: false,
        ...dhtRules,
        peerInfoMapper: config.dht.allowPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper
      })(dhtGuard.components(components)),
      ...(relayEnabled
        ? {
            relay: (components: CircuitRelayServerComponents) => relay(new Proxy(components, {
              get: (target, property, receiver) => property === 'registrar'
                ? guard.accountingRegistrar(target.registrar)
                : Reflect.get(target, property, receiver) as unknown
            }))
          }
        : {})
    }
  })
}

export type AnchorLibp2p = Awaited<ReturnType<typeof createAnchorLibp2p>>
