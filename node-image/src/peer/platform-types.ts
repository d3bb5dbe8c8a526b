import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

/** What the peer library needs to know about where it runs. */
export interface PlatformInit {
  /** Node only: also listen on a TCP port, so dcutr can upgrade relayed connections to direct ones. */
  readonly listenTcp: boolean
  /** Dial loopback and private addresses (devnets, LANs): browsers refuse them by default. */
  readonly allowPrivateAddresses: boolean
  /** STUN/TURN servers for WebRTC between browsers (`stun:host:port`); none by default. */
  readonly iceServers: readonly string[]
  /** Whether a peer is one of the anchors this peer joined through (trusted to observe its address). */
  readonly isAnchor: (peer: PeerId) => boolean
}

/** The transports, listen addresses and services that differ between Node and browsers. */
export interface PlatformLibp2p {
  readonly transports: NonNullable<Libp2pOptions['transports']>
  readonly listen: readonly string[]
  readonly services: Readonly<Record<string, (components: never) => unknown>>
  readonly connectionGater?: ConnectionGater
}

export type PlatformName = 'node' | 'browser'

/**
 * Turns a relayed connection to `peer` into a direct one where the platform can: browsers dial
 * the peer's WebRTC address over the relay (the relay carries only the SDP signalling); Node
 * leaves it to dcutr. Resolves with whether a direct connection exists afterwards.
 */
export type DirectUpgrade = (node: Libp2p, peer: PeerId, signal: AbortSignal) => Promise<boolean>
