import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionLiveness } from './connection-liveness.js'
import type { Logger } from '../logging/logger.js'
import type { Connection, PeerId } from '@libp2p/interface'

function connection (id: number): Connection & { aborted?: Error } {
  const conn = { remotePeer: { toString: () => `peer-${id}` } as unknown as PeerId, status: 'open' } as Connection & { aborted?: Error }
  conn.abort = (err: Error) => { conn.aborted = err }
  return conn
}

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

  it('closes a connection that does not answer, not one whose peer lacks the ping protocol', async () => {
    const [silent, noPing] = [connection(1), connection(2)]
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
    }, { intervalMs: 250, timeoutMs: 100, log })
    liveness.start()
    await vi.advanceTimersByTimeAsync(250)
    liveness.stop()
    expect(silent.aborted?.message).toBe('timed out')
    expect(noPing.aborted).toBeUndefined()
  })
})
