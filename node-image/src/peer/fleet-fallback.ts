import { peerIdOf } from '../net/peer-id-of.js'
import type { AnchorMesh } from '../net/anchor-mesh.js'
import type { Logger } from '../logging/logger.js'

/** How often a peer checks whether all of its anchors are gone, and for how long they must be before it joins a peered fleet's. */
const CHECK_MS = 250
const ALONE_FOR_MS = 2_000

/**
 * A peer's way out when its operator is gone: the anchors of the fleets its fleet peers with
 * (from its verified bootstrap list), joined once every anchor of its own fleet has failed twice
 * in a row for {@link ALONE_FOR_MS}. A rolling restart never takes every anchor at once; if this
 * peer's own network is what failed, the peered fleets are unreachable too and joining them
 * waits. The relay reservation follows, and the new anchor publishes this peer's record, so
 * others find it again. Those anchors are not this peer's own: it takes only signed records
 * from their lookups and no move notices ({@link isFallbackAnchor}).
 */
export class FleetFallback {
  private readonly anchors: readonly string[]
  private readonly mesh: AnchorMesh
  private readonly log?: Logger
  private readonly joinedAnchors = new Set<string>()
  private timer?: ReturnType<typeof setInterval>
  private joined = false
  private aloneSince?: number

  constructor (anchors: readonly string[], mesh: AnchorMesh, log?: Logger) {
    this.anchors = anchors
    this.mesh = mesh
    this.log = log
  }

  start (): void {
    if (this.anchors.length > 0) this.timer = setInterval(() => { this.check() }, CHECK_MS)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Whether `peerId` is a peered fleet's anchor this peer joined: trusted to relay and store, not to answer lookups unsigned. */
  isFallbackAnchor (peerId: string): boolean {
    return this.joinedAnchors.has(peerId)
  }

  /** Joins the peered fleets' anchors now, once; returns whether it did now. */
  join (): boolean {
    if (this.joined || this.anchors.length === 0) return false
    this.joined = true
    this.stop()
    this.log?.warn({ anchors: this.anchors.length }, 'every anchor of this peer\'s fleet is unreachable: joining the peered fleets\' anchors')
    for (const address of this.anchors) {
      const id = peerIdOf(address)
      if (id != null && !this.mesh.has(id)) this.joinedAnchors.add(id)
    }
    this.mesh.add(this.anchors)
    this.mesh.retryNow()
    return true
  }

  private check (): void {
    if (this.mesh.failures(2) == null) {
      this.aloneSince = undefined
      return
    }
    this.aloneSince ??= Date.now()
    if (Date.now() - this.aloneSince >= ALONE_FOR_MS) this.join()
  }
}
