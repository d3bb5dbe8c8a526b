import { peerIdOf } from '../net/peer-id-of.js'
import type { AnchorMesh } from '../net/anchor-mesh.js'
import type { Logger } from '../logging/logger.js'
import type { FleetAnchors } from './known-fleets.js'

/** How often a peer checks whether all of its anchors are gone, and for how long they must be before it joins a peered fleet's. */
const CHECK_MS = 250
const ALONE_FOR_MS = 2_000
/** Peered anchors joined at each step, at the least: one for the reservation, two more to fall back on. */
const MIN_ANCHORS_PER_STEP = 3

export interface FleetFallbackInit {
  /** Each peered fleet's anchors, each as its multiaddrs (ending in /p2p/<peerId>). */
  readonly fleets: readonly FleetAnchors[]
  /** Relay reservations the peer holds: each step joins one anchor more than that (and at least {@link MIN_ANCHORS_PER_STEP}). */
  readonly relays: number
  /** [0, 1): which anchors each peer takes; tests pin it. @default Math.random */
  readonly random?: () => number
}

/** What the fallback needs of the anchor mesh. */
export type FallbackMesh = Pick<AnchorMesh, 'add' | 'has' | 'failures'>

function shuffled<T> (items: readonly T[], random: () => number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy
}

/**
 * A peer's way out when its operator is gone: anchors of the fleets its fleet peers with (from
 * its verified bootstrap list), joined once every anchor it has has failed twice in a row for
 * {@link ALONE_FOR_MS}. A rolling restart never takes every anchor at once; if this peer's own
 * network is what failed, the peered fleets are unreachable too and joining them waits.
 *
 * A few anchors at a time, taken at random and across the peered fleets in turn: every peer of
 * a lost operator comes at once, and each joining every anchor of every peered fleet would be
 * that many handshakes per peer on fleets that did not expect them. When the ones joined fail
 * too, the next few follow.
 *
 * The relay reservation follows, and the new anchor publishes this peer's record, so others
 * find it again. Those anchors are not this peer's own: it takes only signed records from their
 * lookups and no move notices ({@link isFallbackAnchor}).
 */
export class FleetFallback {
  /** Anchors not joined yet, in the order they will be: `[peerId, multiaddrs]`. */
  private readonly queue: Array<[string, readonly string[]]>
  private readonly perStep: number
  private readonly mesh: FallbackMesh
  private readonly log?: Logger
  private readonly joinedAnchors = new Set<string>()
  private timer?: ReturnType<typeof setInterval>
  private aloneSince?: number

  constructor (init: FleetFallbackInit, mesh: FallbackMesh, log?: Logger) {
    const random = init.random ?? Math.random
    const fleets = shuffled(init.fleets, random).map(fleet => shuffled(fleet, random))
    this.queue = []
    const seen = new Set<string>()
    for (let round = 0; fleets.some(fleet => fleet.length > round); round++) {
      for (const fleet of fleets) {
        const addresses = fleet[round]
        const id = addresses?.map(peerIdOf).find(peerId => peerId != null)
        if (addresses == null || id == null || seen.has(id)) continue
        seen.add(id)
        this.queue.push([id, addresses.filter(a => peerIdOf(a) === id)])
      }
    }
    this.perStep = Math.max(MIN_ANCHORS_PER_STEP, init.relays + 1)
    this.mesh = mesh
    this.log = log
  }

  start (): void {
    if (this.queue.length > 0) this.timer = setInterval(() => { this.check() }, CHECK_MS)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Whether `peerId` is a peered fleet's anchor this peer joined: trusted to relay and store, not to answer lookups unsigned. */
  isFallbackAnchor (peerId: string): boolean {
    return this.joinedAnchors.has(peerId)
  }

  /** Joins the next few peered anchors now; returns whether there were any left to join. */
  join (): boolean {
    const step: Array<[string, readonly string[]]> = []
    while (step.length < this.perStep && this.queue.length > 0) {
      const next = this.queue.shift() as [string, readonly string[]]
      if (!this.mesh.has(next[0])) step.push(next)
    }
    if (this.queue.length === 0) this.stop()
    if (step.length === 0) return false
    const first = this.joinedAnchors.size === 0
    for (const [id] of step) this.joinedAnchors.add(id)
    const message = first
      ? 'every anchor of this peer\'s fleet is unreachable: joining peered fleets\' anchors'
      : 'the peered anchors joined are unreachable too: joining the next ones'
    this.log?.warn({ anchors: step.length, left: this.queue.length }, message)
    this.mesh.add(step.flatMap(([, addresses]) => addresses))
    return true
  }

  private check (): void {
    if (this.mesh.failures(2) == null) {
      this.aloneSince = undefined
      return
    }
    this.aloneSince ??= Date.now()
    if (Date.now() - this.aloneSince >= ALONE_FOR_MS) {
      this.aloneSince = undefined
      this.join()
    }
  }
}
