import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { TCPSocketOptions } from '@libp2p/tcp'

export interface RawNodeOptions {
  /** Source address of every TCP connection it dials (any 127.x.y.z works on loopback). */
  readonly localAddress?: string
  /** Listen on the relays it reserves on (so others can open circuits to it). */
  readonly reserve?: boolean
  /** Also listen on a TCP port on loopback. */
  readonly listenTcp?: boolean
  /** Extra libp2p services (e.g. a DHT in server mode, to claim the DHT protocol). */
  readonly services?: Record<string, (components: never) => unknown>
}

/**
 * A bare libp2p node an attacker would run: no MeganetPeer logic, nothing honest about it. It
 * can dial from a chosen loopback address so tests can play peers from several IP prefixes.
 */
export async function rawNode (options: RawNodeOptions = {}) {
  const dialOpts = (options.localAddress != null ? { localAddress: options.localAddress } : {}) as TCPSocketOptions
  return await createLibp2p({
    addresses: {
      listen: [...(options.reserve === true ? ['/p2p-circuit'] : []), ...(options.listenTcp === true ? ['/ip4/127.0.0.1/tcp/0'] : [])]
    },
    transports: [tcp({ dialOpts }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 1000 },
    services: {
      identify: identify(),
      ping: ping(),
      ...(options.services ?? {})
    }
  })
}

export type RawNode = Awaited<ReturnType<typeof rawNode>>
