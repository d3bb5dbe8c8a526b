import { PROTOCOLS } from '@meganet/contracts'
import { TypedEventEmitter } from 'main-event'
import { jsonFrames } from '../net/json-frames.js'
import type { Logger } from '../logging/logger.js'
import type { RelayGuard } from '../relay/relay-guard.js'
import type { MoveNotice } from '@meganet/contracts'
import type { Libp2p, PeerId } from '@libp2p/interface'

const PROGRESS_INTERVAL_MS = 500
const NOTICE_TIMEOUT_MS = 5_000

export interface DrainProgress {
  readonly startedAt: number
  readonly reservationsLeft: number
  /** Blocks not yet handed off (0 without the storage role). */
  readonly blocksLeft: number
  readonly done: boolean
}

export interface AnchorDrainComponents {
  readonly node: Libp2p
  readonly guard: RelayGuard
  readonly log: Logger
}

export interface AnchorDrainEvents {
  /** Every half second while draining, and once when done. */
  progress: CustomEvent<DrainProgress>
}

/**
 * Moves an anchor's peers elsewhere: stop admitting reservations, tell every reserved peer
 * which anchors serve, wait until they have left (or the timeout passes, then disconnect the
 * rest), and report `done`.
 */
export class AnchorDrain extends TypedEventEmitter<AnchorDrainEvents> {
  private readonly node: Libp2p
  private readonly guard: RelayGuard
  private readonly log: Logger
  private progress?: { startedAt: number, done: boolean }
  private timer?: NodeJS.Timeout
  private blocksLeft: () => number = () => 0

  constructor (components: AnchorDrainComponents) {
    super()
    this.node = components.node
    this.guard = components.guard
    this.log = components.log
  }

  get state (): DrainProgress | undefined {
    if (this.progress == null) return undefined
    return { ...this.progress, reservationsLeft: this.guard.reservationCount(), blocksLeft: this.blocksLeft() }
  }

  /**
   * Starts draining. Peers that have not moved by `timeoutMs` are disconnected; blocks are never
   * given up on: the drain is done only once `blocksLeft` reports 0.
   */
  start (alternatives: readonly string[], timeoutMs: number, blocksLeft: () => number = () => 0): void {
    if (this.progress != null) return
    this.blocksLeft = blocksLeft
    this.guard.drain()
    const startedAt = Date.now()
    this.progress = { startedAt, done: false }
    const peers = this.guard.reservedPeers()
    this.log.info({ peers: peers.length, alternatives: alternatives.length }, 'draining: asking peers to move')
    for (const peer of peers) void this.notify(peer, { type: 'move', anchors: [...alternatives] })
    this.timer = setInterval(() => {
      const left = this.guard.reservationCount()
      if (left > 0 && Date.now() - startedAt >= timeoutMs) {
        this.log.warn({ left }, 'drain timeout: disconnecting the peers that did not move')
        for (const peer of this.guard.reservedPeers()) void this.node.hangUp(peer).catch(() => {})
        return
      }
      if (left === 0 && this.blocksLeft() === 0) this.finish()
      this.reportProgress()
    }, PROGRESS_INTERVAL_MS)
    this.timer.unref()
  }

  /** Serves again: admits reservations and forgets the drain. */
  cancel (): void {
    clearInterval(this.timer)
    this.progress = undefined
    this.guard.undrain()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private finish (): void {
    if (this.progress == null || this.progress.done) return
    clearInterval(this.timer)
    this.progress = { ...this.progress, done: true }
    this.log.info({ seconds: (Date.now() - this.progress.startedAt) / 1000 }, 'drained')
    this.reportProgress()
  }

  private reportProgress (): void {
    const state = this.state
    if (state != null) this.safeDispatchEvent('progress', { detail: state })
  }

  private async notify (peer: PeerId, notice: MoveNotice): Promise<void> {
    try {
      const signal = AbortSignal.timeout(NOTICE_TIMEOUT_MS)
      const stream = await this.node.dialProtocol(peer, PROTOCOLS.notice, { signal })
      await jsonFrames(stream).write(notice, signal)
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'could not send the move notice')
    }
  }
}
