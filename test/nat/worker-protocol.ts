import type { PeerOptions } from '../../node-image/src/peer/index.js'

/** Commands to a peer worker (one JSON line each, with an `id` the answer repeats). */
export type WorkerRequest =
  | { readonly op: 'start', readonly anchors: string[], readonly options: Partial<Omit<PeerOptions, 'log' | 'privateKey'>> }
  | { readonly op: 'reach', readonly peerId: string, readonly waitDirectMs: number, readonly messages: number, readonly messageBytes: number }
  | { readonly op: 'received', readonly from: string }
  | { readonly op: 'locate', readonly peerId: string }
  | { readonly op: 'stop' }

export interface StartReply {
  readonly peerId: string
  readonly addresses: string[]
}

/** The dialling side of a trial. Times are `performance.now()` in the worker. */
export interface ReachReport {
  readonly direct: boolean
  readonly relayedAt?: number
  readonly directAt?: number
  readonly directAddress?: string
  /** Relayed connections this peer opened to the target during the trial. */
  readonly relayedConnectionsOpened: number
  /** The remote address of each of those relayed connections: which relay carried it. */
  readonly relayedVia: string[]
  /** Relayed connections to the target still open at the end. */
  readonly relayedConnectionsOpen: number
  /** Direct connections to the target open at the end. */
  readonly directConnectionsOpen: number
  /** Path of each ping: the first (right after meeting) and one after each message. */
  readonly paths: string[]
  /** The first message or ping that failed after the pair met, if one did. */
  readonly trafficError?: string
  /** This peer's own addresses at the end (what identify and the DCUtR offer carry). */
  readonly advertised: string[]
}

export interface ReceiverReport {
  readonly directAt?: number
  readonly messages: number
  readonly relayedMessages: number
  /** Message bytes that still came through the relay after the direct connection opened. */
  readonly relayedBytesAfterDirect: number
  readonly advertised: string[]
}

export interface LocateReply {
  readonly via: string
  readonly multiaddrs: string[]
  /** The anchors this peer is connected to now. */
  readonly anchorConnections: string[]
}

export type WorkerReply = LocateReply | StartReply | ReachReport | ReceiverReport | Record<string, never>
