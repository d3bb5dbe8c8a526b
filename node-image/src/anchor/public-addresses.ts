import { isPublicAddress } from '../net/public-address.js'
import type { Logger } from '../logging/logger.js'
import type { AddressManager, TransportManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How long an interface address stays confirmed before AutoNAT may check it again. */
const INTERFACE_ADDRESS_TTL_MS = 24 * 60 * 60 * 1000

export interface PublicAddressesComponents {
  readonly addressManager: AddressManager
  readonly transportManager: TransportManager
}

export interface PublicAddressesInit {
  /** The operator's `--announce` list: when set, it is what the anchor advertises, and this does nothing. */
  readonly announce: readonly string[]
  /** A devnet or LAN (`dht.allowPrivateAddresses`): private addresses are expected, no warning. */
  readonly privateNetwork: boolean
  readonly log: Logger
}

/**
 * An anchor bound to a public interface advertises that address. libp2p holds public transport
 * addresses back until AutoNAT has confirmed them from several network segments, which an
 * anchor (that peers must find before anything else) may never get: it then advertised only
 * loopback and private addresses, and lookups answered with circuit addresses nobody could
 * dial. The interface address is the anchor's own, so it is confirmed once listening; with
 * `--announce` the operator's list is used instead. An anchor that has no public address and
 * no `--announce` says so in its log, since peers outside its network cannot reach it.
 */
export class PublicAddresses {
  private readonly components: PublicAddressesComponents
  private readonly init: PublicAddressesInit
  /** The addresses confirmed at start (empty with `--announce`). */
  confirmed: Multiaddr[] = []

  constructor (components: PublicAddressesComponents, init: PublicAddressesInit) {
    this.components = components
    this.init = init
  }

  readonly [Symbol.toStringTag] = 'meganet/public-addresses'

  /** Confirms the public interface addresses; call once the node listens (after `start()`). */
  announceInterfaceAddresses (): void {
    if (this.init.announce.length > 0) return
    this.confirmed = this.components.transportManager.getAddrs().filter(isPublicAddress)
    for (const address of this.confirmed) {
      this.components.addressManager.confirmObservedAddr(address, { type: 'transport', ttl: INTERFACE_ADDRESS_TTL_MS })
    }
    if (this.confirmed.length > 0) {
      this.init.log.info({ addresses: this.confirmed.map(a => a.toString()) }, 'announcing the public interface addresses (set --announce to advertise others)')
    } else if (!this.init.privateNetwork) {
      this.init.log.warn('this anchor has no public address and no --announce: only peers on its own network can reach it; set --announce to the address peers dial (public IP, load balancer)')
    }
  }
}

export function publicAddresses (init: PublicAddressesInit): (components: PublicAddressesComponents) => PublicAddresses {
  return (components) => new PublicAddresses(components, init)
}
