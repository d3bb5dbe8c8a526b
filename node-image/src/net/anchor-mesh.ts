import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { isWebRtcAddress } from './webrtc-address.js'
import { peerIdOf } from './peer-id-of.js'
import type { Logger } from '../logging/logger.js'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const DEFAULT_INITIAL_BACKOFF_MS = 500
export const DEFAULT_MAX_BACKOFF_MS = 30_000
const DIAL_TIMEOUT_MS = 10_000
/**
 * After this many failed dials in a row an anchor is probed over its cheapest transport only
 * (TCP or WebSocket: refused at once when it is down), and dialled in full once that answers.
 * A WebRTC-direct dial to a dead anchor runs ICE until its timeout: most of what an idle browser
 * peer spent while its anchors were gone.
 */
const PROBE_AFTER_FAILURES = 2
/**
 * An anchor that reset the connection or closed it mid-handshake is up but turning dials away
 * (it is shedding a crowd, e.g. every peer of a restarted anchor at once): retrying within a
 * second only adds to the crowd, so these retries wait 2-4 s, then up to 8, then up to 15 s.
 * One that refused the connection is down: its own backoff (0.5 s doubling) is kept apart, so
 * it is rejoined as soon as it is back, whatever the busy backoff reached.
 */
const TURNED_AWAY_MIN_BACKOFF_MS = 4_000
const TURNED_AWAY_MAX_BACKOFF_MS = 15_000

/** Whether a dial failed because the anchor, reachable, turned it away (see {@link TURNED_AWAY_MIN_BACKOFF_MS}). */
export function turnedAway (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err instanceof AggregateError) return err.errors.some(turnedAway)
  if ((err as { code?: unknown }).code === 'ECONNRESET') return true
  // @chainsafe/libp2p-noise when the anchor closed the socket before answering the handshake.
  if (err.name === 'EncryptionFailedError' && /unexpected eof/i.test(err.message)) return true
  // WebRTC-direct: the anchor closed the data channel the handshake runs on.
  if (err.name === 'UnexpectedEOFError') return true
  return err.cause != null && err.cause !== err && turnedAway(err.cause)
}

export interface AnchorMeshOptions {
  /** First retry after a failed dial (then doubled each time). @default DEFAULT_INITIAL_BACKOFF_MS */
  readonly initialBackoffMs?: number
  /** Retries never wait longer than this. @default DEFAULT_MAX_BACKOFF_MS */
  readonly maxBackoffMs?: number
  /** [0, 1): tests pin the jitter. @default Math.random */
  readonly random?: () => number
}

interface Target {
  readonly peer: PeerId
  readonly addresses: Multiaddr[]
  backoffMs: number
  /** The backoff while the anchor turns dials away (see {@link TURNED_AWAY_MIN_BACKOFF_MS}). */
  busyBackoffMs: number
  timer?: ReturnType<typeof setTimeout>
  /** Why the last dial failed, and how many failed in a row, until one succeeds. */
  lastError?: Error
  failedDials: number
  /** The mesh's own full dial is under way (the only one let through while the anchor is probed). */
  dialingInFull?: boolean
  /** A dial of it has ended (either way) since it was added. */
  dialled?: boolean
}

/** Node's timers keep the process alive unless unref'd; browsers' timers are numbers. */
function unref (timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === 'object' && timer != null && 'unref' in timer) timer.unref()
}

/**
 * Keeps a node connected to a set of anchors: dials them at start and redials whenever a
 * connection drops, backing off exponentially with jitter (capped) while an anchor stays
 * unreachable, so a phone whose anchors are gone sleeps between attempts instead of spinning.
 * When any of the anchors answers again, or the app says the network changed
 * ({@link retryNow}), the others are retried at once. Anchors use it for their fellow anchors,
 * peers for the anchors they joined through. An anchor that is down at start is only a retry.
 */
export class AnchorMesh {
  private readonly node: Libp2p
  private readonly log: Logger
  private readonly targets = new Map<string, Target>()
  private readonly initialBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly busyMinBackoffMs: number
  private readonly busyMaxBackoffMs: number
  private readonly random: () => number
  private stopped = false
  private started = false

  constructor (node: Libp2p, addresses: readonly string[], log: Logger, options: AnchorMeshOptions = {}) {
    this.node = node
    this.log = log
    this.initialBackoffMs = options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS
    this.busyMinBackoffMs = Math.min(TURNED_AWAY_MIN_BACKOFF_MS, this.maxBackoffMs)
    this.busyMaxBackoffMs = Math.min(TURNED_AWAY_MAX_BACKOFF_MS, this.maxBackoffMs)
    this.random = options.random ?? Math.random
    this.add(addresses)
  }

  start (): void {
    this.started = true
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    this.node.addEventListener('peer:connect', this.onConnect)
    for (const target of this.targets.values()) this.schedule(target, 0)
  }

  /** Keeps these anchors connected too (addresses ending in /p2p/<peerId>); more addresses of a known one are added to it. */
  add (addresses: readonly string[]): void {
    for (const text of addresses) {
      const address = multiaddr(text)
      const id = peerIdOf(address)
      if (id == null || id === this.node.peerId.toString()) continue
      const known = this.targets.get(id)
      if (known != null) {
        if (!known.addresses.some(a => a.equals(address))) known.addresses.push(address)
        continue
      }
      const target: Target = { peer: peerIdFromString(id), addresses: [address], backoffMs: this.initialBackoffMs, busyBackoffMs: this.busyMinBackoffMs, failedDials: 0 }
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

  /** Dials every disconnected anchor now, with a fresh backoff: the network changed, or one of them answered. */
  retryNow (): void {
    for (const target of this.targets.values()) {
      if (this.node.getConnections(target.peer).length > 0) continue
      target.backoffMs = this.initialBackoffMs
      this.schedule(target, 0)
    }
  }

  stop (): void {
    this.stopped = true
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.node.removeEventListener('peer:connect', this.onConnect)
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

  /**
   * Why each anchor is unreachable, once every one has failed at least `dials` dials in a row
   * (none connected); undefined otherwise.
   */
  failures (dials: number): Array<{ address: string, error: Error }> | undefined {
    const targets = [...this.targets.values()]
    const failures: Array<{ address: string, error: Error }> = []
    for (const target of targets) {
      if (target.lastError == null || target.failedDials < dials || this.node.getConnections(target.peer).length > 0) return undefined
      failures.push({ address: target.addresses[0]?.toString() ?? target.peer.toString(), error: target.lastError })
    }
    return failures.length > 0 ? failures : undefined
  }

  /** Whether an anchor not connected yet has not had its first dial end: it may be moments away. */
  firstDialsPending (): boolean {
    for (const target of this.targets.values()) {
      if (target.dialled !== true && this.node.getConnections(target.peer).length === 0) return true
    }
    return false
  }

  /** The PeerIds of the configured anchors this one is connected to now. */
  connectedPeers (): string[] {
    return [...this.targets].filter(([, target]) => this.node.getConnections(target.peer).length > 0).map(([id]) => id)
  }

  get configuredCount (): number {
    return this.targets.size
  }

  /** When the next attempt for each disconnected anchor is due, for tests and status. */
  backoffs (): Map<string, number> {
    return new Map([...this.targets].map(([id, target]) => [id, target.backoffMs]))
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const target = this.targets.get(event.detail.toString())
    if (target != null) this.schedule(target, this.jittered(target.backoffMs))
  }

  private readonly onConnect = (event: CustomEvent<PeerId>): void => {
    const target = this.targets.get(event.detail.toString())
    if (target == null) return
    target.backoffMs = this.initialBackoffMs
    target.busyBackoffMs = this.busyMinBackoffMs
    // An anchor answered (whoever dialled): the network is back, so the others may be too.
    this.retryNow()
  }

  /**
   * Dials only the anchor's TCP and WebSocket addresses; throws when they are refused. An anchor
   * with none this node can dial (an https page and plain `ws`, WebRTC-direct only) is dialled in full.
   */
  private async probe (target: Target): Promise<void> {
    const known = (await this.node.peerStore.get(target.peer).catch(() => undefined))?.addresses.map(a => a.multiaddr) ?? target.addresses
    const cheap = known.filter(a => !isWebRtcAddress(a) && !a.getComponents().some(c => c.name === 'p2p-circuit'))
      .map(a => a.getComponents().some(c => c.name === 'p2p') ? a : a.encapsulate(`/p2p/${target.peer.toString()}`))
    if (cheap.length === 0) return
    try {
      await this.node.dial(cheap, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    } catch (err) {
      // None of them is for this node (no transport, or its gater refuses them): dial in full.
      if ((err as Error).name === 'NoValidAddressesError' || (err as Error).name === 'DialDeniedError') return
      throw err
    }
  }

  /**
   * Whether a dial of this address should wait: a WebRTC one to an anchor the mesh is probing
   * (it is down), unless the mesh itself dials it in full. Other dialers (relay discovery, the
   * DHT) would otherwise keep starting WebRTC dials to it that run ICE until they time out.
   */
  holdsBack (address: Multiaddr): boolean {
    if (!isWebRtcAddress(address)) return false
    const id = peerIdOf(address)
    const target = id == null ? undefined : this.targets.get(id)
    return target != null && target.failedDials >= PROBE_AFTER_FAILURES && target.dialingInFull !== true &&
      this.node.getConnections(target.peer).length === 0
  }

  /**
   * Full jitter above a floor of half the first backoff: anywhere up to the whole backoff, so a
   * crowd that lost its anchor together spreads its retries over the whole window instead of
   * its second half (equal jitter).
   */
  private jittered (backoffMs: number, firstBackoffMs = this.initialBackoffMs): number {
    const floor = Math.min(firstBackoffMs / 2, backoffMs)
    return Math.round(floor + this.random() * (backoffMs - floor))
  }

  private schedule (target: Target, delayMs: number): void {
    if (this.stopped) return
    clearTimeout(target.timer)
    target.timer = setTimeout(() => { void this.dial(target) }, delayMs)
    unref(target.timer)
  }

  private async dial (target: Target): Promise<void> {
    if (this.stopped || this.node.getConnections(target.peer).length > 0) return
    try {
      await this.dialOnce(target)
    } finally {
      target.dialled = true
    }
  }

  private async dialOnce (target: Target): Promise<void> {
    try {
      // By PeerId: the configured addresses plus what identify taught us (e.g. a rotated certhash).
      await this.node.peerStore.merge(target.peer, { multiaddrs: target.addresses })
      if (target.failedDials >= PROBE_AFTER_FAILURES) await this.probe(target)
      if (this.node.getConnections(target.peer).length === 0) {
        target.dialingInFull = true
        try {
          await this.node.dial(target.peer, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        } finally {
          target.dialingInFull = false
        }
      }
      target.backoffMs = this.initialBackoffMs
      target.busyBackoffMs = this.busyMinBackoffMs
      delete target.lastError
      target.failedDials = 0
      this.log.info({ anchor: target.peer.toString() }, 'connected to anchor')
    } catch (err) {
      if (this.stopped) return
      target.lastError = err instanceof Error ? err : new Error(String(err))
      target.failedDials++
      const busy = turnedAway(err)
      let delay: number
      if (busy) {
        delay = this.jittered(target.busyBackoffMs, this.busyMinBackoffMs)
        target.busyBackoffMs = Math.min(target.busyBackoffMs * 2, this.busyMaxBackoffMs)
      } else {
        delay = this.jittered(target.backoffMs)
        target.backoffMs = Math.min(target.backoffMs * 2, this.maxBackoffMs)
      }
      this.log.debug({ anchor: target.peer.toString(), err: (err as Error).message, turnedAway: busy, retryInMs: delay }, 'anchor not reachable yet')
      this.schedule(target, delay)
    }
  }
}
