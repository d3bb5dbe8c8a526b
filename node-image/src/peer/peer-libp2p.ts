import { PROTOCOLS } from '@meganet/contracts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { directConnections } from './direct-connections.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export interface PeerLibp2pInit {
  readonly privateKey: PrivateKey
  /** How many anchors to hold a relay reservation on. */
  readonly relays: number
  /** Also listen on a TCP port, so dcutr can upgrade relayed connections to direct ones. */
  readonly listenTcp: boolean
  readonly allowPrivateAddresses: boolean
  /** Whether a peer is one of the anchors this peer joined through (trusted to observe its address); default none. */
  readonly isAnchor?: (peer: PeerId) => boolean
}

/** A peer (phone, laptop): a DHT client that is reachable through relay reservations. */
export async function createPeerLibp2p (init: PeerLibp2pInit) {
  const listen = Array.from({ length: init.relays }, () => '/p2p-circuit')
  if (init.listenTcp) listen.push('/ip4/0.0.0.0/tcp/0')
  const direct = directConnections({ isAnchor: init.isAnchor ?? (() => false) })
  return await createLibp2p({
    privateKey: init.privateKey,
    start: false,
    addresses: { listen },
    transports: [direct.tcp, webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping(),
      autoNAT: autoNAT(),
      ...direct.services,
      dht: kadDHT({
        protocol: PROTOCOLS.dht,
        clientMode: true,
        peerInfoMapper: init.allowPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper
      })
    }
  })
}

export type PeerLibp2p = Awaited<ReturnType<typeof createPeerLibp2p>>
