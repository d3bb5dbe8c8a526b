import { RELAY_PROTOCOLS } from '@meganet/contracts'
import type { IdentifyResult, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'

/**
 * Which peers said, in their latest identify (or identify push), that they relay: the protocol
 * list of the identify message itself, never the peer store's, which may hold a partial list
 * before identify has run. An anchor that is still starting may identify before its relay has
 * registered; its push then replaces the answer.
 */
export class RelayOffers {
  private readonly relays = new Map<string, boolean>()
  private readonly events: TypedEventTarget<Libp2pEvents>

  constructor (events: TypedEventTarget<Libp2pEvents>) {
    this.events = events
    events.addEventListener('peer:identify', this.onIdentify)
  }

  stop (): void {
    this.events.removeEventListener('peer:identify', this.onIdentify)
  }

  /** True when every one of `peers` has identified itself and none offers the relay's hop protocol. */
  noneRelays (peers: readonly string[]): boolean {
    return peers.length > 0 && peers.every(peer => this.relays.get(peer) === false)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = event.detail
    if (protocols.length === 0) return // a push without a protocol list says nothing about relaying
    this.relays.set(peerId.toString(), protocols.includes(RELAY_PROTOCOLS.hop))
  }
}
