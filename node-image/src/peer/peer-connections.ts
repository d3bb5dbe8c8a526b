import { concat, equals } from 'uint8arrays'
import { pathOf } from './connection-path.js'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_LENGTH = 32
/** A relayed connection this close to its duration limit is not given new streams. */
const LIMIT_MARGIN_MS = 5_000

export class PeerConnectionError extends Error {
  override readonly name = 'PeerConnectionError'
}

/** Whether a relayed connection may still carry a new stream: open, and not about to hit its time limit. */
export function withinLimits (connection: Connection, now = Date.now()): boolean {
  if (connection.status !== 'open') return false
  const seconds = connection.limits?.seconds
  if (seconds == null) return true
  return connection.timeline.open + seconds * 1000 - now > LIMIT_MARGIN_MS
}

/**
 * The connection new streams to a peer should use: a direct one if there is one, else an
 * unlimited relayed one, else the relayed connection already open while it is within its
 * limits. libp2p itself never reuses a limited connection (`dialProtocol` dials a new circuit
 * each time), which made every message and ping a fresh circuit through the anchor.
 */
export function preferredConnection (connections: readonly Connection[], now = Date.now()): Connection | undefined {
  const open = connections.filter(c => c.status === 'open')
  return open.find(c => pathOf(c) === 'direct') ??
    open.find(c => c.limits == null) ??
    open.find(c => withinLimits(c, now))
}

/**
 * Streams to other peers over one connection per pair: reuses the open one (see
 * {@link preferredConnection}), dials at most once at a time per peer, and when a stream cannot
 * open because its relayed connection just closed (replaced by a direct one) tries once more.
 */
export class PeerConnections {
  private readonly node: Libp2p
  private readonly dialing = new Map<string, Promise<Connection>>()

  constructor (node: Libp2p) {
    this.node = node
  }

  async connection (peer: PeerId, signal: AbortSignal): Promise<Connection> {
    const existing = preferredConnection(this.node.getConnections(peer))
    if (existing != null) return existing
    const key = peer.toString()
    let dial = this.dialing.get(key)
    if (dial == null) {
      // A limited connection past its limits must not be returned: force a new one then.
      const force = this.node.getConnections(peer).length > 0
      dial = this.node.dial(peer, { signal, force }).finally(() => this.dialing.delete(key))
      this.dialing.set(key, dial)
    }
    return await dial
  }

  async openStream (peer: PeerId, protocol: string, signal: AbortSignal): Promise<{ stream: Stream, connection: Connection }> {
    const connection = await this.connection(peer, signal)
    try {
      return { stream: await connection.newStream(protocol, { signal, runOnLimitedConnection: true }), connection }
    } catch (err) {
      if (signal.aborted || connection.status === 'open') throw err
      const next = await this.connection(peer, signal)
      return { stream: await next.newStream(protocol, { signal, runOnLimitedConnection: true }), connection: next }
    }
  }

  /** Round-trip time of one ping (the libp2p ping protocol) over the preferred connection. */
  async ping (peer: PeerId, signal: AbortSignal): Promise<{ rttMs: number, connection: Connection }> {
    const { stream, connection } = await this.openStream(peer, PING_PROTOCOL, signal)
    const data = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
    let received = new Uint8Array(0)
    const start = performance.now()
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => { reject(signal.reason instanceof Error ? signal.reason : new PeerConnectionError('ping aborted')) }
        signal.addEventListener('abort', onAbort, { once: true })
        stream.addEventListener('message', (event) => {
          received = concat([received, event.data.subarray()])
          if (received.byteLength >= PING_LENGTH) { signal.removeEventListener('abort', onAbort); resolve() }
        })
        stream.addEventListener('close', () => { if (received.byteLength < PING_LENGTH) reject(new PeerConnectionError('ping stream closed before the echo')) }, { once: true })
        stream.send(data)
        // As @libp2p/ping does: close our side at once and the read side on the echo, so the
        // stream is gone before the next ping (the protocol allows one outbound stream per connection).
        stream.close({ signal }).catch(reject)
      })
      const rttMs = performance.now() - start
      if (!equals(received.subarray(0, PING_LENGTH), data)) throw new PeerConnectionError('wrong ping echo')
      await stream.closeRead({ signal })
      return { rttMs, connection }
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }
}
