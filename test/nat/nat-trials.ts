import type { LabNetwork, PeerWorker } from './lab-network.js'
import type { NatKind } from './nat-kinds.js'

/** Where a peer of a pair sits: behind a NAT of some kind, or on a public address. */
export type Placement = NatKind | 'public'

/** A pair of NAT placements: the listening peer's and the dialling peer's. */
export interface PairKind {
  readonly name: string
  readonly listener: Placement
  readonly dialler: Placement
  /** Whether this pair should go direct: false for symmetric on both sides. */
  readonly expectDirect: boolean
}

export const PAIR_KINDS: readonly PairKind[] = [
  { name: 'endpoint-independent both sides (full cone)', listener: 'full-cone', dialler: 'full-cone', expectDirect: true },
  { name: 'one side address-restricted', listener: 'restricted', dialler: 'full-cone', expectDirect: true },
  { name: 'one side port-restricted', listener: 'port-restricted', dialler: 'full-cone', expectDirect: true },
  { name: 'port-restricted both sides', listener: 'port-restricted', dialler: 'port-restricted', expectDirect: true },
  { name: 'public dialler to a port-restricted peer', listener: 'port-restricted', dialler: 'public', expectDirect: true },
  { name: 'symmetric both sides', listener: 'symmetric', dialler: 'symmetric', expectDirect: false }
]

export interface TrialOptions {
  /** How long to wait for a direct connection after the relayed one opened. */
  readonly waitDirectMs: number
  /** Messages (each followed by a ping) sent once the wait is over. */
  readonly messages: number
  readonly messageBytes: number
}

export const DEFAULT_TRIAL: TrialOptions = { waitDirectMs: 5_000, messages: 3, messageBytes: 4096 }

export interface TrialResult {
  readonly direct: boolean
  /** From the relayed connection opening to the direct one opening, at the dialler. */
  readonly timeToDirectMs?: number
  /** Relayed connections the dialler opened to the listener during the trial. */
  readonly relayedConnectionsOpened: number
  /** Which relay carried each of them (the connections' remote addresses). */
  readonly relayedVia: string[]
  /** Relayed connections still open at the end (0 once the direct one is up). */
  readonly relayedConnectionsLeft: number
  /** Message bytes the listener still received through the relay after going direct. */
  readonly relayedBytesAfterDirect: number
  /** Whether every message and ping after the wait used the direct path. */
  readonly trafficDirect: boolean
  /** A message or ping that failed after the pair met. */
  readonly trafficError?: string
  /** Why the pair never met through the relay (a peer did not start, the lookup or first ping failed). */
  readonly error?: string
}

/** Two peer hosts placed as `kind` says, that run trial after trial with fresh peers. */
export class PairLane {
  readonly kind: PairKind
  readonly listener: PeerWorker
  readonly dialler: PeerWorker

  private constructor (kind: PairKind, listener: PeerWorker, dialler: PeerWorker) {
    this.kind = kind
    this.listener = listener
    this.dialler = dialler
  }

  static async create (network: LabNetwork, kind: PairKind, name: string): Promise<PairLane> {
    const host = async (placement: Placement, role: string): Promise<PeerWorker> => placement === 'public'
      ? await network.publicWorker(`${name}${role}`)
      : await network.natWorker(`${name}${role}`, placement)
    return new PairLane(kind, await host(kind.listener, 'l'), await host(kind.dialler, 'd'))
  }

  /** Fresh peers on both hosts; the dialler reaches the listener by PeerId alone. */
  async trial (anchors: string[], options: TrialOptions = DEFAULT_TRIAL): Promise<TrialResult> {
    try {
      const [listener, dialler] = await Promise.all([
        this.listener.startPeer(anchors, { listenTcp: true }),
        this.dialler.startPeer(anchors, { listenTcp: true })
      ])
      const reach = await this.dialler.reach(listener.peerId, options)
      const received = await this.listener.received(dialler.peerId)
      return {
        direct: reach.direct,
        ...(reach.directAt != null && reach.relayedAt != null ? { timeToDirectMs: reach.directAt - reach.relayedAt } : {}),
        relayedConnectionsOpened: reach.relayedConnectionsOpened,
        relayedVia: reach.relayedVia,
        relayedConnectionsLeft: reach.relayedConnectionsOpen,
        relayedBytesAfterDirect: received.relayedBytesAfterDirect,
        trafficDirect: reach.trafficError == null && reach.paths.slice(1).every(p => p === 'direct'),
        ...(reach.trafficError != null ? { trafficError: reach.trafficError } : {})
      }
    } catch (err) {
      return { direct: false, relayedConnectionsOpened: 0, relayedVia: [], relayedConnectionsLeft: 0, relayedBytesAfterDirect: 0, trafficDirect: false, error: (err as Error).message }
    } finally {
      await Promise.all([this.listener.stopPeer().catch(() => {}), this.dialler.stopPeer().catch(() => {})])
    }
  }
}
