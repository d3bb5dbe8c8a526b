import { createServer, connect } from 'node:net'
import type { Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionLiveness } from './connection-liveness.js'
import type { Logger } from '../logging/logger.js'
import type { Connection, PeerId } from '@libp2p/interface'

type FakeConnection = Connection & { aborted?: Error }

/** A connection as libp2p's ping service sees it; with `muxerPing`, one whose muxer pings too, as yamux's does. */
function connection (id: number, muxerPing?: (options: { signal: AbortSignal }) => Promise<number>): FakeConnection {
  const conn = { remotePeer: { toString: () => `peer-${id}` } as unknown as PeerId, status: 'open' } as FakeConnection
  conn.abort = (err: Error) => { conn.aborted = err }
  if (muxerPing != null) Object.assign(conn, { muxer: { ping: muxerPing } })
  return conn
}

const unusedPingService = { ping: { ping: async () => { await Promise.resolve(); throw new Error('the ping protocol was used') } } }

const log = { debug: () => {} } as unknown as Logger

describe('ConnectionLiveness', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('pings each connection once per interval, a slice per tick instead of all at once', async () => {
    const connections = Array.from({ length: 100 }, (_, i) => connection(i))
    const pinged: string[] = []
    const liveness = new ConnectionLiveness({
      getConnections: () => connections,
      services: { ping: { ping: async (peer) => { pinged.push(peer.toString()); return await Promise.resolve(1) } } }
    }, { intervalMs: 1_000, timeoutMs: 500, log })
    liveness.start()
    await vi.advanceTimersByTimeAsync(250)
    expect(pinged).toHaveLength(25)
    await vi.advanceTimersByTimeAsync(750)
    expect(new Set(pinged).size).toBe(100)
    liveness.stop()
  })

  it('lists the connections once per round, and pings one that came mid-round in the next', async () => {
    const connections = Array.from({ length: 8 }, (_, i) => connection(i))
    const pinged: string[] = []
    let listed = 0
    const liveness = new ConnectionLiveness({
      getConnections: () => { listed++; return [...connections] },
      services: { ping: { ping: async (peer) => { pinged.push(peer.toString()); return await Promise.resolve(1) } } }
    }, { intervalMs: 1_000, timeoutMs: 500, log })
    liveness.start()
    await vi.advanceTimersByTimeAsync(500)
    connections.push(connection(8))
    await vi.advanceTimersByTimeAsync(500)
    // One round of four ticks: one list, not four; the newcomer is not in it.
    expect(listed).toBe(1)
    expect(pinged).not.toContain('peer-8')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(listed).toBe(2)
    expect(pinged).toContain('peer-8')
    liveness.stop()
  })

  it('closes a connection that does not answer, not one whose peer lacks the ping protocol', async () => {
    const [silent, noPing] = [connection(1), connection(2)]
    let unanswered = 0
    const liveness = new ConnectionLiveness({
      getConnections: () => [silent, noPing],
      services: {
        ping: {
          ping: async (peer) => {
            await Promise.resolve()
            const err = new Error(peer.toString() === 'peer-1' ? 'timed out' : 'protocol selection failed')
            err.name = peer.toString() === 'peer-1' ? 'TimeoutError' : 'UnsupportedProtocolError'
            throw err
          }
        }
      }
    }, { intervalMs: 250, timeoutMs: 100, log, onUnanswered: () => { unanswered++ } })
    liveness.start()
    await vi.advanceTimersByTimeAsync(250)
    liveness.stop()
    expect(silent.aborted?.message).toBe('timed out')
    expect(noPing.aborted).toBeUndefined()
    expect(unanswered).toBe(1)
  })

  it('pings through the muxer when it can, and closes a connection whose muxer ping times out', async () => {
    let answered = 0
    const alive = connection(1, async () => { answered++; return await Promise.resolve(3) })
    // AbortSignal.timeout runs on real timers: the muxer here gives up at once, as it would at the deadline.
    const dead = connection(2, async () => {
      await Promise.resolve()
      throw Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })
    })
    const liveness = new ConnectionLiveness({ getConnections: () => [alive, dead], services: unusedPingService }, { intervalMs: 250, timeoutMs: 100, log })
    liveness.start()
    await vi.advanceTimersByTimeAsync(250)
    liveness.stop()
    expect(answered).toBe(1)
    expect(alive.aborted).toBeUndefined()
    expect(dead.aborted?.name).toBe('TimeoutError')
  })

  it('with a tick as long as the interval, pings every connection in one wake-up per round', async () => {
    const pinged: number[] = []
    const connections = Array.from({ length: 3 }, (_, i) => connection(i, async () => { pinged.push(i); return await Promise.resolve(1) }))
    const liveness = new ConnectionLiveness({ getConnections: () => connections, services: unusedPingService }, { intervalMs: 30_000, timeoutMs: 10_000, tickMs: 30_000, log })
    liveness.start()
    await vi.advanceTimersByTimeAsync(29_999)
    expect(pinged).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(pinged.sort()).toEqual([0, 1, 2])
    await vi.advanceTimersByTimeAsync(30_000)
    liveness.stop()
    expect(pinged).toHaveLength(6)
  })
})

describe('ConnectionLiveness, on real timers and a real socket', () => {
  it('counts an answer that arrived while this process was held up past the timeout', async () => {
    // A loopback socket pair: the "remote" answers at once, then this process stalls (a phone
    // asleep, a busy worker) past the timeout, with the answer waiting in the kernel's buffer.
    let remote: Socket | undefined
    // Either end may see a reset when the other closes with unread bytes: not what this test is about.
    const server = createServer(socket => { remote = socket.on('error', () => {}) })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const local = connect((server.address() as { port: number }).port, '127.0.0.1').on('error', () => {})
    await vi.waitFor(() => { expect(remote).toBeDefined() })
    // Stopped by its first ping, so there is one check to judge.
    const stop = { liveness: (): void => {} }
    const answering = connection(1, async ({ signal }) => await new Promise<number>((resolve, reject) => {
      stop.liveness()
      local.once('data', () => { resolve(1) })
      signal.addEventListener('abort', () => { reject(signal.reason as Error) })
      // After the poll phase, so the stall ends with the timer due before the socket is read.
      setImmediate(() => {
        remote?.write('pong')
        const until = Date.now() + 300
        while (Date.now() < until) { /* held up */ }
      })
    }))
    let unanswered = 0
    const liveness = new ConnectionLiveness({ getConnections: () => [answering], services: unusedPingService },
      { intervalMs: 50, timeoutMs: 100, tickMs: 50, log, onUnanswered: () => { unanswered++ } })
    stop.liveness = () => { liveness.stop() }
    try {
      liveness.start()
      await new Promise(resolve => setTimeout(resolve, 500))
      expect(answering.aborted).toBeUndefined()
      expect(unanswered).toBe(0)
    } finally {
      liveness.stop()
      remote?.destroy()
      local.destroy()
      server.close()
    }
  })
})
