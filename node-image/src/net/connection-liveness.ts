import type { Connection, PeerId } from '@libp2p/interface'
import type { Logger } from '../logging/logger.js'

/** How often a slice of the connections is pinged, by default; each slice is n × tick / interval of them. */
const TICK_MS = 250

export interface LivenessNode {
  getConnections: () => Connection[]
  services: { ping: { ping: (peer: PeerId, options: { signal: AbortSignal }) => Promise<number> } }
}

export interface LivenessInit {
  readonly intervalMs: number
  readonly timeoutMs: number
  /**
   * How often a slice is pinged; default 250 ms (or the interval, if shorter). A node with a few
   * connections (a peer) passes the interval: one wake-up per round matters more there than
   * spreading a handful of pings.
   */
  readonly tickMs?: number
  readonly log: Logger
  /** Called for each connection closed because it did not answer in time. */
  readonly onUnanswered?: () => void
}

/**
 * A peer's: each connection every 30 s, all in one wake-up (a peer has a few). Half a minute keeps
 * NAT mappings open and finds a dead anchor soon after a phone moves; libp2p's default, a ping
 * stream every 10 s, was two thirds of what idle peers spent. 10 s to answer, as anchors allow.
 */
export const PEER_LIVENESS = { intervalMs: 30_000, timeoutMs: 10_000, tickMs: 30_000 } as const satisfies Omit<LivenessInit, 'log' | 'onUnanswered'>

/**
 * Runs `fn` once the event loop has read the sockets that are ready now: Node's setImmediate runs
 * after the poll phase; browsers queue a task behind the network events already waiting.
 */
function afterIo (fn: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(fn)
  else setTimeout(fn, 0)
}

/** A muxer that pings in its own frames, without a stream: yamux does (one 12-byte frame each way). */
export interface PingingMuxer { ping: (options: { signal: AbortSignal }) => Promise<number> }

/**
 * The connection's muxer, when it pings. libp2p's `Connection` keeps its muxer in a field its
 * types call private (there since libp2p 3.0; `muxer-ping.test.ts` fails if it goes); WebRTC
 * connections multiplex over data channels, which have no ping.
 */
export function pingingMuxer (connection: Connection): PingingMuxer | undefined {
  const muxer = (connection as unknown as { muxer?: { ping?: unknown } }).muxer
  if (muxer == null || typeof muxer.ping !== 'function') return undefined
  return muxer as PingingMuxer
}

/**
 * Pings every connection once per interval, spread evenly over it, and closes the ones that do
 * not answer (freeing their relay reservations). libp2p's own connection monitor pings every
 * connection in the same tick: at 5,000 peers each round opened 5,000 streams at once, stalled
 * the anchor for seconds and timed out the peers joining meanwhile.
 *
 * A yamux connection is pinged by its muxer (a frame each way), anything else by the ping
 * protocol (a stream: its open, multistream-select, 32 bytes each way and its close). This is
 * the only keepalive: yamux's own, a ping every 30 s that never closes anything, is turned off.
 */
export class ConnectionLiveness {
  private readonly node: LivenessNode
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private readonly tickMs: number
  private readonly log: Logger
  private readonly onUnanswered: () => void
  private timer?: ReturnType<typeof setInterval>
  /**
   * The connections of the current round, listed once per round rather than every tick (at
   * 10,000 connections, four lists a second were 1% of an anchor's time in a reconnect storm).
   * Weakly held: a connection closed mid-round is not kept in memory until the round ends.
   */
  private round: Array<WeakRef<Connection>> = []
  private cursor = 0
  /** Connections the current round still owes a ping, as a fraction carried between ticks. */
  private owed = 0

  constructor (node: LivenessNode, init: LivenessInit) {
    this.node = node
    this.intervalMs = init.intervalMs
    this.timeoutMs = init.timeoutMs
    this.tickMs = Math.min(init.tickMs ?? TICK_MS, init.intervalMs)
    this.log = init.log
    this.onUnanswered = init.onUnanswered ?? (() => {})
  }

  start (): void {
    if (this.timer != null) return
    this.timer = setInterval(() => { this.tick() }, this.tickMs)
    // Node's timers keep the process alive unless unref'd; browsers' are plain numbers.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private tick (): void {
    if (this.cursor >= this.round.length) {
      this.round = this.node.getConnections().map(connection => new WeakRef(connection))
      this.cursor = 0
      if (this.round.length === 0) return
    }
    this.owed += this.round.length * this.tickMs / this.intervalMs
    const batch = Math.floor(this.owed)
    this.owed -= batch
    for (const end = Math.min(this.round.length, this.cursor + batch); this.cursor < end; this.cursor++) {
      const connection = this.round[this.cursor]?.deref()
      if (connection?.status === 'open') void this.check(connection)
    }
  }

  private async check (connection: Connection): Promise<void> {
    const deadline = new AbortController()
    // The verdict waits one more turn of the event loop: a timer that came due while this process
    // was held up (a phone waking from sleep, a busy worker) runs before the loop reads its
    // sockets, and would otherwise close a connection whose answer is already there to be read.
    const timer = setTimeout(() => {
      afterIo(() => { deadline.abort(Object.assign(new Error(`no answer to a ping within ${this.timeoutMs} ms`), { name: 'TimeoutError' })) })
    }, this.timeoutMs)
    const signal = deadline.signal
    try {
      const muxer = pingingMuxer(connection)
      if (muxer != null) await muxer.ping({ signal })
      else await this.node.services.ping.ping(connection.remotePeer, { signal })
    } catch (err) {
      // A peer that does not speak ping still answered multistream-select: it is alive.
      if ((err as Error).name === 'UnsupportedProtocolError' || connection.status !== 'open') return
      this.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'connection did not answer a ping: closing it')
      connection.abort(err as Error)
      this.onUnanswered()
    } finally {
      clearTimeout(timer)
    }
  }
}
