import { createServer, connect } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConnectionLiveness, pingingMuxer } from './connection-liveness.js'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Server, Socket } from 'node:net'

/** A TCP forwarder that can go silent with both sockets left open: a path that died without a FIN (a phone that moved, a NAT that forgot). */
async function forwarder (port: number): Promise<{ port: number, freeze: () => void, close: () => void }> {
  const sockets: Socket[] = []
  const server: Server = createServer(client => {
    const upstream = connect(port, '127.0.0.1')
    client.pipe(upstream)
    upstream.pipe(client)
    // Either end is reset once the connection is closed over the frozen path: expected, not a failure.
    for (const socket of [client, upstream]) socket.on('error', () => {})
    sockets.push(client, upstream)
  })
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  if (address == null || typeof address === 'string') throw new Error('the forwarder has no port')
  return {
    port: address.port,
    freeze: () => { for (const socket of sockets) { socket.unpipe(); socket.pause() } },
    close: () => { for (const socket of sockets) socket.destroy(); server.close() }
  }
}

const noPingProtocol = { ping: { ping: async () => { await Promise.resolve(); throw new Error('the ping protocol was used') } } }

describe('liveness through the muxer on real libp2p connections', () => {
  const node = loopbackNodes()
  const closers: Array<() => void> = []
  afterEach(() => { for (const close of closers.splice(0)) close() })

  it('finds yamux\'s ping on a libp2p connection and gets an answer from a node with no ping protocol', async () => {
    const [a, b] = [await node(), await node()]
    const connection = await a.dial(b.getMultiaddrs()[0]!)
    const muxer = pingingMuxer(connection)
    // Undefined here means libp2p or yamux moved the muxer's ping: liveness would fall back to a ping stream per connection.
    expect(muxer).toBeDefined()
    expect(await muxer?.ping({ signal: AbortSignal.timeout(5_000) })).toBeGreaterThanOrEqual(0)
    expect(b.getProtocols()).not.toContain('/ipfs/ping/1.0.0')
  })

  it('closes a connection whose path went silent, and keeps one that answers', async () => {
    const [a, b] = [await node(), await node()]
    const port = Number(/\/tcp\/(\d+)/.exec(b.getMultiaddrs()[0]!.toString())?.[1])
    const path = await forwarder(port)
    closers.push(path.close)
    const connection = await a.dial(multiaddr(`/ip4/127.0.0.1/tcp/${path.port}/p2p/${b.peerId.toString()}`))
    const liveness = new ConnectionLiveness({ getConnections: () => a.getConnections(), services: noPingProtocol }, { intervalMs: 200, timeoutMs: 400, log: pino({ level: 'silent' }) })
    liveness.start()
    closers.push(() => { liveness.stop() })
    await new Promise(resolve => setTimeout(resolve, 1_000))
    expect(connection.status).toBe('open')
    path.freeze()
    await vi.waitFor(() => { expect(connection.status).not.toBe('open') }, { timeout: 5_000, interval: 50 })
  })
})
