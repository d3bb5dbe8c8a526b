import type { Connection, IdentifyResult, PeerId } from '@libp2p/interface'

/**
 * How long an inbound connection waits to be identified. A peer that joins reserves within
 * milliseconds of connecting; anything else still connected and unreserved by then is identified.
 */
export const IDENTIFY_INBOUND_AFTER_MS = 2_000

/** What identifying needs of the anchor's libp2p node (its identify service runs nothing on open). */
export interface InboundIdentifyNode {
  addEventListener: (type: 'connection:open', listener: (event: CustomEvent<Connection>) => void) => void
  removeEventListener: (type: 'connection:open', listener: (event: CustomEvent<Connection>) => void) => void
  readonly services: { readonly identify: { identify: (connection: Connection) => Promise<IdentifyResult> } }
}

export interface InboundIdentifyInit {
  readonly delayMs: number
  /** Fellow and peered fleets' anchors: identified at once (the DHT's routing table needs their protocols). */
  readonly isKnownAnchor: (peer: string) => boolean
  /** Whether the peer holds a reservation on this anchor now. */
  readonly isReserved: (peer: PeerId) => boolean
}

/**
 * Identifies the connections the anchor has a use for identifying, where libp2p identifies every
 * connection as it opens. Outbound connections and known anchors are identified at once. A peer
 * that reserved is not: nothing on the anchor reads what its first identify says (its record
 * names no circuit address yet; the record publisher asks for the one that does, and the peer
 * pushes it), and that identify was a tenth of the anchor's CPU per join (docs/BENCHMARKS.md).
 * Any other inbound connection (a DHT server from outside the known fleets, a peer that only
 * looks up) is identified after `delayMs`, so DHT servers still reach the routing table.
 */
export class InboundIdentify {
  private readonly node: InboundIdentifyNode
  private readonly init: InboundIdentifyInit
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private readonly onOpen = (event: CustomEvent<Connection>): void => { this.opened(event.detail) }

  constructor (node: InboundIdentifyNode, init: InboundIdentifyInit) {
    this.node = node
    this.init = init
  }

  start (): void {
    this.node.addEventListener('connection:open', this.onOpen)
  }

  stop (): void {
    this.node.removeEventListener('connection:open', this.onOpen)
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  private opened (connection: Connection): void {
    if (connection.direction === 'outbound' || this.init.isKnownAnchor(connection.remotePeer.toString())) {
      this.identify(connection)
      return
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (connection.status === 'open' && !this.init.isReserved(connection.remotePeer)) this.identify(connection)
    }, this.init.delayMs)
    timer.unref?.()
    this.timers.add(timer)
  }

  /** As libp2p's own identify on open: a failure (the peer left, or speaks no identify) changes nothing. */
  private identify (connection: Connection): void {
    this.node.services.identify.identify(connection).catch(() => {})
  }
}
