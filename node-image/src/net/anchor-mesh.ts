import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logging/logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const INITIAL_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000

interface Target {
  readonly peer: PeerId
  readonly address: Multiaddr
  backoffMs: number
  timer?: NodeJS.Timeout
}

/**
 * Keeps this anchor connected to the anchors it was configured with: dials them at start and
 * redials with exponential backoff whenever a connection drops, so the DHT and relay mesh heal
 * after an anchor restarts. An anchor that is down at start is not an error, only a retry.
 */
export class AnchorMesh {
  private readonly node: Libp2p
  private readonly log: Logger
  private readonly targets = new Map<string, Target>()
  private stopped = false

  private started = false

  constructor (node: Libp2p, addresses: readonly string[], log: Logger) {
    this.node = node
    this.log = log
    this.add(addresses)
  }

  start (): void {
    this.started = true
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    for (const target of this.targets.values()) this.schedule(target, 0)
  }

  /** Keeps these anchors connected too (addresses ending in /p2p/<peerId>); known ones are left as they are. */
  add (addresses: readonly string[]): void {
    for (const text of addresses) {
      const address = multiaddr(text)
      const id = address.getComponents().findLast(c => c.name === 'p2p')?.value
      if (id == null || id === this.node.peerId.toString() || this.targets.has(id)) continue
      const target: Target = { peer: peerIdFromString(id), address, backoffMs: INITIAL_BACKOFF_MS }
      this.targets.set(id, target)
      if (this.started) this.schedule(target, 0)
    }
  }

  /** Stops keeping an anchor connected (it left the fleet, or is draining). */
  forget (peerId: string): void {
    const target = this.targets.get(peerId)
    if (target == null) return
    clearTimeout(target.timer)
    this.targets.delete(peerId)
  }

  has (peerId: string): boolean {
    return this.targets.has(peerId)
  }

  stop (): void {
    this.stopped = true
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const target of this.targets.values()) clearTimeout(target.timer)
  }

  /** How many configured anchors this one is connected to now. */
  connectedCount (): number {
    let count = 0
    for (const target of this.targets.values()) {
      if (this.node.getConnections(target.peer).length > 0) count++
    }
    return count
  }

  get configuredCount (): number {
    return this.targets.size
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const target = this.targets.get(event.detail.toString())
    if (target != null) this.schedule(target, target.backoffMs)
  }

  private schedule (target: Target, delayMs: number): void {
    if (this.stopped) return
    clearTimeout(target.timer)
    target.timer = setTimeout(() => { void this.dial(target) }, delayMs)
    target.timer.unref()
  }

  private async dial (target: Target): Promise<void> {
    if (this.stopped || this.node.getConnections(target.peer).length > 0) return
    try {
      await this.node.dial(target.address, { signal: AbortSignal.timeout(10_000) })
      target.backoffMs = INITIAL_BACKOFF_MS
      this.log.info({ anchor: target.peer.toString() }, 'connected to anchor')
    } catch (err) {
      this.log.debug({ anchor: target.peer.toString(), err: (err as Error).message, retryInMs: target.backoffMs }, 'anchor not reachable yet')
      const delay = target.backoffMs
      target.backoffMs = Math.min(target.backoffMs * 2, MAX_BACKOFF_MS)
      this.schedule(target, delay)
    }
  }
}
