import { getNetConfig } from '@libp2p/utils'
import { TCP } from '@multiformats/multiaddr-matcher'
import { isPublicAddress } from '../net/public-address.js'
import type { Connection, IdentifyResult, Libp2pEvents, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Distinct anchors (by PeerId and by IP address) that must observe the same address. */
export const DEFAULT_OBSERVER_QUORUM = 2
/** How long a confirmed address stays confirmed without a fresh observation. */
const CONFIRMED_TTL_MS = 60 * 60 * 1000

export interface ObservedAddressesComponents {
  readonly addressManager: AddressManager
  readonly events: TypedEventTarget<Libp2pEvents>
}

export interface ObservedAddressesInit {
  /** Only these peers' observations count (the anchors this peer trusts). */
  readonly isObserver: (peer: PeerId) => boolean
  /** Only connections from the local port that is announced count (see ReusePortTcp). */
  readonly fromListenPort: (connection: Connection) => boolean
  readonly quorum?: number
}

interface Observation { readonly address: string, readonly observerIp: string }

/**
 * Learns this peer's public TCP address from what anchors observe (identify's `observedAddr`),
 * trusting no single observer: an address is confirmed, and so announced (in identify, and in
 * the DCUtR offer that drives hole punching), once `quorum` anchors with different PeerIds and
 * IP addresses report it for connections from the listen port. A NAT that maps
 * endpoint-independently gives every anchor the same address; a symmetric one gives each a
 * different port, so nothing is confirmed and the peer does not offer an address that cannot
 * work. When a quorum agrees on a new address (the NAT rebooted) the old one is withdrawn.
 *
 * Stock `@libp2p/identify` drops observed TCP addresses altogether (js-libp2p issue #2620,
 * because js dials from ephemeral ports); the `peer:identify` event still carries them, which
 * is all this needs: see patches/README.md.
 */
export class ObservedAddresses implements Startable {
  private readonly components: ObservedAddressesComponents
  private readonly init: ObservedAddressesInit
  private readonly quorum: number
  /** The latest observation by each observer, by PeerId. */
  private readonly observations = new Map<string, Observation>()
  private confirmedAddress?: Multiaddr

  constructor (components: ObservedAddressesComponents, init: ObservedAddressesInit) {
    this.components = components
    this.init = init
    this.quorum = init.quorum ?? DEFAULT_OBSERVER_QUORUM
  }

  readonly [Symbol.toStringTag] = 'meganet/observed-addresses'

  start (): void {
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  stop (): void {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.observations.clear()
    this.confirmedAddress = undefined
  }

  /** The address a quorum of anchors agrees on, if any. */
  get confirmed (): Multiaddr | undefined {
    return this.confirmedAddress
  }

  /** Counts one observation; exported for tests as the event handler's core. */
  observe (observer: PeerId, connection: Connection, observed: Multiaddr): void {
    if (!this.init.isObserver(observer) || !this.init.fromListenPort(connection)) return
    if (!TCP.exactMatch(observed) || !isPublicAddress(observed)) return
    const observerIp = ipOf(connection.remoteAddr)
    if (observerIp == null) return
    this.observations.set(observer.toString(), { address: observed.toString(), observerIp })
    this.evaluate(observed)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, connection, observedAddr } = event.detail
    if (observedAddr != null) this.observe(peerId, connection, observedAddr)
  }

  private evaluate (candidate: Multiaddr): void {
    const key = candidate.toString()
    const ips = new Set<string>()
    for (const observation of this.observations.values()) {
      if (observation.address === key) ips.add(observation.observerIp)
    }
    if (ips.size < this.quorum) return
    const previous = this.confirmedAddress
    if (previous != null && previous.toString() !== key) this.components.addressManager.removeObservedAddr(previous)
    this.confirmedAddress = candidate
    this.components.addressManager.confirmObservedAddr(candidate, { type: 'observed', ttl: CONFIRMED_TTL_MS })
  }
}

function ipOf (address: Multiaddr): string | undefined {
  try {
    return getNetConfig(address).host
  } catch {
    return undefined
  }
}

export function observedAddresses (init: ObservedAddressesInit): (components: ObservedAddressesComponents) => ObservedAddresses {
  return (components) => new ObservedAddresses(components, init)
}
