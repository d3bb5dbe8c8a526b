import { sha256 } from 'multiformats/hashes/sha2'
import { fromString as bytesFromString, toString as bytesToString } from 'uint8arrays'
import { fetchSignedBootstrapList } from '../bootstrap/signed-list.js'
import { AnchorMesh } from '../net/anchor-mesh.js'
import { usableAddresses } from '../peer/usable-addresses.js'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging/logger.js'
import type { BootstrapList, PeeredFleet } from '@meganet/contracts'
import type { Libp2p } from '@libp2p/interface'

/** A peered fleet's list this anchor passes on, at most (its peers read the whole list, 256 KiB at most, with up to 8 of these). */
const MAX_PEERED_LIST_BYTES = 24 * 1024

/** The URL of a fleet's list without its own peered fleets (peering goes one hop, so lists never nest). */
function ownListUrl (bootstrapUrl: string): string {
  const url = new URL(bootstrapUrl)
  url.searchParams.set('peered', 'false')
  return url.toString()
}

/** Another operator's fleet, as the operator of this one pinned it. */
export interface PeeringTarget {
  readonly bootstrapUrl: string
  readonly pins: readonly string[]
}

export interface PeeredFleetsInit {
  readonly targets: readonly PeeringTarget[]
  /** Anchors of each peered fleet this anchor keeps connected (chosen per anchor, so a fleet spreads over them). */
  readonly anchorsPerFleet: number
  /** How often each peered list is fetched again. */
  readonly refreshMs: number
  /** First retry after a failed fetch, doubled up to `refreshMs`. */
  readonly retryMs: number
  /** Dial loopback and private addresses a peered list names (devnets only): otherwise another operator could aim this anchor at its own network. */
  readonly allowPrivateAddresses: boolean
}

/** How one peered fleet looks from this anchor (`/status`, and the operator's fleet status). */
export interface PeeringStatus {
  readonly bootstrapUrl: string
  /** Anchors in its last verified list. */
  readonly anchors: number
  /** Of those, connected from this anchor now. */
  readonly connected: number
  /** When its list was last fetched and verified (ms since the epoch), null if never. */
  readonly verifiedAt: number | null
  /** Why the last fetch failed, null after a success. */
  readonly lastError: string | null
}

interface Peered {
  readonly target: PeeringTarget
  current?: { signed: PeeredFleet['list'], list: BootstrapList, verifiedAt: number }
  chosen: string[]
  lastError: string | null
  retryMs: number
  timer?: ReturnType<typeof setTimeout>
}

/**
 * This anchor's links into other operators' fleets. For each peered fleet it fetches the signed
 * bootstrap list and verifies it against the pinned PeerIds (never trusting the URL), keeps a
 * few of its anchors connected (so both fleets' DHTs are one), and offers the list, as signed, for
 * this anchor's own list. Nothing but libp2p and that HTTPS fetch crosses: no NATS, no secret.
 * A fetch that fails keeps the last verified list until it expires.
 */
export class PeeredFleets {
  private readonly init: PeeredFleetsInit
  private readonly node: Libp2p
  private readonly log: Logger
  private readonly mesh: AnchorMesh
  private readonly fleets: Peered[]
  private stopped = false

  constructor (init: PeeredFleetsInit, components: { node: Libp2p, log: Logger }) {
    this.init = init
    this.node = components.node
    this.log = components.log
    this.mesh = new AnchorMesh(components.node, [], components.log)
    this.fleets = init.targets.map(target => ({ target, chosen: [], lastError: null, retryMs: init.retryMs }))
  }

  start (): void {
    this.mesh.start()
    for (const fleet of this.fleets) void this.refresh(fleet)
  }

  stop (): void {
    this.stopped = true
    this.mesh.stop()
    for (const fleet of this.fleets) clearTimeout(fleet.timer)
  }

  /** Whether `peerId` is an anchor of a peered fleet, by its verified list. */
  has (peerId: string): boolean {
    return this.fleets.some(f => f.current?.list.anchors.some(a => a.peerId === peerId) === true)
  }

  /** The peered fleets' lists as their anchors signed them, with their pins, for this anchor's list. */
  signedLists (now = Date.now()): PeeredFleet[] {
    return this.fleets.flatMap(f => f.current != null && f.current.list.expiresAt > now ? [{ pins: f.target.pins, list: f.current.signed }] : [])
  }

  status (): PeeringStatus[] {
    return this.fleets.map(f => ({
      bootstrapUrl: f.target.bootstrapUrl,
      anchors: f.current?.list.anchors.length ?? 0,
      // By PeerId (a map lookup): scraped metrics call this, and an anchor holds thousands of connections.
      connected: f.chosen.filter(id => this.node.getConnections(peerIdFromString(id)).length > 0).length,
      verifiedAt: f.current?.verifiedAt ?? null,
      lastError: f.lastError
    }))
  }

  private async refresh (fleet: Peered): Promise<void> {
    if (this.stopped) return
    let delay = this.init.refreshMs
    try {
      const { signed, list } = await fetchSignedBootstrapList(ownListUrl(fleet.target.bootstrapUrl), fleet.target.pins)
      if (list.peered != null) throw new Error(`${fleet.target.bootstrapUrl} answered with its peered fleets for ?peered=false: is it a MegaNet anchor's /bootstrap?`)
      if (JSON.stringify(signed).length > MAX_PEERED_LIST_BYTES) throw new Error(`its list is larger than ${MAX_PEERED_LIST_BYTES} bytes, too large to pass on to this fleet's peers`)
      // Whoever serves the URL could replay an older list that is still valid: never go back (per signer: a load balancer rotates them).
      if (fleet.current != null && list.issuer === fleet.current.list.issuer && list.issuedAt < fleet.current.list.issuedAt) throw new Error(`it served a list issued before the one verified at ${new Date(fleet.current.verifiedAt).toISOString()}: kept that one`)
      fleet.current = { signed, list, verifiedAt: Date.now() }
      fleet.lastError = null
      fleet.retryMs = this.init.retryMs
      await this.choose(fleet, list)
    } catch (err) {
      fleet.lastError = (err as Error).message
      delay = fleet.retryMs
      fleet.retryMs = Math.min(this.init.refreshMs, fleet.retryMs * 2)
      this.log.warn({ peering: fleet.target.bootstrapUrl, err: fleet.lastError, keeping: fleet.current != null }, fleet.current != null
        ? 'could not take a peered fleet\'s bootstrap list; keeping the last one verified: check its URL and pinned PeerIds'
        : 'could not take a peered fleet\'s bootstrap list: check its URL and pinned PeerIds')
      if (fleet.current != null && fleet.current.list.expiresAt <= Date.now()) {
        fleet.current = undefined
        this.connect(fleet, [])
      }
    }
    if (this.stopped) return
    fleet.timer = setTimeout(() => { void this.refresh(fleet) }, delay)
    fleet.timer.unref?.()
  }

  /** The anchors this one keeps connected in a fleet: the first few by a hash of both PeerIds. */
  private async choose (fleet: Peered, list: BootstrapList): Promise<void> {
    const self = this.node.peerId.toString()
    const dialable = list.anchors.map(a => ({ ...a, multiaddrs: usableAddresses(a.multiaddrs.map(m => multiaddr(m)), this.init.allowPrivateAddresses).map(m => m.toString()) }))
    const ranked = await Promise.all(dialable.filter(a => a.peerId !== self && a.multiaddrs.length > 0).map(async anchor => ({
      anchor,
      rank: bytesToString((await sha256.digest(bytesFromString(`${self}/${anchor.peerId}`))).digest, 'base16')
    })))
    ranked.sort((a, b) => a.rank < b.rank ? -1 : 1)
    this.connect(fleet, ranked.slice(0, this.init.anchorsPerFleet).map(r => r.anchor))
  }

  private connect (fleet: Peered, anchors: BootstrapList['anchors']): void {
    const keep = new Set(anchors.map(a => a.peerId))
    for (const id of fleet.chosen) if (!keep.has(id)) this.mesh.forget(id)
    for (const anchor of anchors) this.mesh.add(anchor.multiaddrs)
    fleet.chosen = [...keep]
  }
}
