import { PROTOCOLS } from '@meganet/contracts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { platformLibp2p } from './platform.js'
import { libp2pLoggerOption } from '../net/libp2p-logger.js'
import { peerRecordDhtRules } from '../dht/peer-records.js'
import type { PeerRecordRejection } from '@meganet/contracts'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface PeerLibp2pInit {
  readonly privateKey: PrivateKey
  /** How many anchors to hold a relay reservation on. */
  readonly relays: number
  /** Node only: also listen on a TCP port, so dcutr can upgrade relayed connections to direct ones. */
  readonly listenTcp: boolean
  readonly allowPrivateAddresses: boolean
  /** Browsers: STUN/TURN servers for WebRTC between pages. @default none */
  readonly iceServers?: readonly string[]
  /** Whether a peer is one of the anchors this peer joined through (trusted to observe its address); default none. */
  readonly isAnchor?: (peer: PeerId) => boolean
  /** Called for each signed peer record a lookup threw out (forged, stale); default none. */
  readonly onRecordRejected?: (reason: PeerRecordRejection) => void
  /** Addresses not to dial for now (the anchor mesh holds back WebRTC dials to anchors that are down); default none. */
  readonly holdDial?: (address: Multiaddr) => boolean
}

/**
 * A peer (phone, laptop, browser page): a DHT client that is reachable through relay
 * reservations. Transports and the services that differ by platform come from `platform.ts`
 * (Node) or `platform.browser.ts` (browsers).
 */
export async function createPeerLibp2p (init: PeerLibp2pInit) {
  const platform = platformLibp2p({
    listenTcp: init.listenTcp,
    allowPrivateAddresses: init.allowPrivateAddresses,
    iceServers: init.iceServers ?? [],
    isAnchor: init.isAnchor ?? (() => false)
  })
  const listen = [...Array.from({ length: init.relays }, () => '/p2p-circuit'), ...platform.listen]
  return await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    ...libp2pLoggerOption(),
    addresses: { listen },
    transports: platform.transports,
    connectionEncrypters: [noise()],
    // The peer's ConnectionLiveness is its one keepalive (see peer.ts).
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionGater: {
      ...platform.connectionGater,
      denyDialMultiaddr: async (address: Multiaddr) => (init.holdDial?.(address) ?? false) || ((await platform.connectionGater?.denyDialMultiaddr?.(address)) ?? false)
    },
    // The anchor mesh reconnects to anchors, with its backoff and cheap probes. libp2p's reconnect
    // queue would also redial them (the relay transport tags relays keep-alive) 5 more times in
    // 30 s over every address: WebRTC-direct dials that kept an idle page busy once its anchors were gone.
    connectionManager: { reconnectRetries: 0 },
    // libp2p's monitor opens a ping stream on every connection (every 10 s by default, two thirds
    // of what idle peers spent); the peer's ConnectionLiveness pings through yamux instead.
    connectionMonitor: { enabled: false },
    services: {
      ...(platform.services as Record<string, never>),
      identify: identify(),
      identifyPush: identifyPush(),
      // Liveness pings WebRTC connections with this protocol too: with the default of one outbound
      // ping stream, a ping of the app's that met libp2p's monitor's failed ("Too many outbound
      // protocol streams for protocol /ipfs/ping/1.0.0 - 2/1"): the NAT lab saw pairs that never met.
      ping: ping({ maxOutboundStreams: 4 }),
      dht: kadDHT({
        protocol: PROTOCOLS.dht,
        clientMode: true,
        // A peer reads and writes the DHT through its anchors. The self-query and table refresh
        // (patched off, see patches/README.md) walked the DHT at start and every 5 minutes,
        // dialling every close anchor of every fleet: 2.2x the anchors' connections per peer.
        autoRefresh: false,
        ...peerRecordDhtRules(init.onRecordRejected),
        peerInfoMapper: init.allowPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper
      })
    }
  })
}

export type PeerLibp2p = Awaited<ReturnType<typeof createPeerLibp2p>>
