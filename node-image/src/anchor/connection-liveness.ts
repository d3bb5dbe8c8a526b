import type { Connection, PeerId } from '@libp2p/interface'
import type { Logger } from '../logging/logger.js'

/** How often a slice of the connections is pinged; each slice is n × TICK / interval of them. */
const TICK_MS = 250

export interface LivenessNode {
  getConnections: () => Connection[]
  services: { ping: { ping: (peer: PeerId, options: { signal: AbortSignal }) => Promise<number> } }
}

/**
 * Pings every connection once per interval, spread evenly over it, and closes the ones that do
 * not answer (freeing their relay reservations). libp2p's own connection monitor pings every
 * connection in the same tick: at 5,000 peers each round opened 5,000 streams at once, stalled
 * the anchor for seconds and timed out the peers joining meanwhile.
 */
export class ConnectionLiveness {
  private readonly node: LivenessNode
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private readonly log: Logger
  private timer?: NodeJS.Timeout
  private cursor = 0
  /** Connections the current round still owes a ping, as a fraction carried between ticks. */
  private owed = 0

  constructor (node: LivenessNode, options: { intervalMs: number, timeoutMs: number, log: Logger }) {
    this.node = node
    this.intervalMs = options.intervalMs
    this.timeoutMs = options.timeoutMs
    this.log = options.log
  }

  start (): void {
    this.timer = setInterval(() => { this.tick() }, Math.min(TICK_MS, this.intervalMs))
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private tick (): void {
    const connections = this.node.getConnections()
    if (connections.length === 0) return
    this.owed += connections.length * Math.min(TICK_MS, this.intervalMs) / this.intervalMs
    const batch = Math.floor(this.owed)
    this.owed -= batch
    for (let i = 0; i < batch; i++) {
      this.cursor = (this.cursor + 1) % connections.length
      const connection = connections[this.cursor]
      if (connection != null && connection.status === 'open') void this.check(connection)
    }
  }

  private async check (connection: Connection): Promise<void> {
    try {
      await this.node.services.ping.ping(connection.remotePeer, { signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      // A peer that does not speak ping still answered multistream-select: it is alive.
      if ((err as Error).name === 'UnsupportedProtocolError' || connection.status !== 'open') return
      this.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'connection did not answer a ping: closing it')
      connection.abort(err as Error)
    }
  }
}
