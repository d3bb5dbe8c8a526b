import { once } from 'node:events'
import { connect } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Libp2p } from '@libp2p/interface'
import type { ConnectionManagerInit } from 'libp2p'
import type { Socket } from 'node:net'

/** What this test reads of libp2p's connection manager (internal to libp2p). */
interface InboundSlots { incomingPendingConnections: number, incomingQueue: Set<unknown> }
const slots = (node: Libp2p): InboundSlots => (node as unknown as { components: { connectionManager: InboundSlots } }).components.connectionManager

const tcpPort = (node: Libp2p): number => Number(node.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value)

/** One handshake slot, and room for more in the queue; no per-host rate limit to trip over. */
const oneSlot = (queued: number, incomingQueueTimeout = 10_000): ConnectionManagerInit =>
  ({ maxIncomingPendingConnections: 1, maxIncomingQueuedConnections: queued, incomingQueueTimeout, inboundConnectionThreshold: 1_000 })

describe('the inbound handshake queue patch (patches/README.md, "A dial past the handshake slots waits")', () => {
  const node = loopbackNodes()
  const sockets: Socket[] = []
  afterEach(() => { for (const socket of sockets.splice(0)) socket.destroy() })

  /** A TCP connection that says nothing: it holds a handshake slot (or a place in the queue) until it is closed. */
  async function silent (listener: Libp2p): Promise<Socket> {
    const socket = connect(tcpPort(listener), '127.0.0.1')
    sockets.push(socket)
    socket.on('error', () => {})
    await once(socket, 'connect')
    return socket
  }

  it('keeps a dial past the handshake slots waiting, and lets it in when a slot frees', async () => {
    const listener = await node(undefined, { connectionManager: oneSlot(4) })
    const dialer = await node()
    const holder = await silent(listener)
    await expect.poll(() => slots(listener).incomingPendingConnections).toBe(1)

    let settled = false
    const dialing = dialer.dial(listener.getMultiaddrs()[0]!).finally(() => { settled = true })
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(1)
    await new Promise(resolve => setTimeout(resolve, 200))
    // Unpatched, the dial was reset at once (ECONNRESET).
    expect(settled).toBe(false)

    holder.destroy()
    const connection = await dialing
    expect(connection.remotePeer.equals(listener.peerId)).toBe(true)
    expect(slots(listener).incomingQueue.size).toBe(0)
  })

  it('refuses a dial when the queue is full, and one that waited past its time', async () => {
    const listener = await node(undefined, { connectionManager: oneSlot(1, 400) })
    const [first, second] = [await node(), await node()]
    await silent(listener)
    await expect.poll(() => slots(listener).incomingPendingConnections).toBe(1)

    const waited = first.dial(listener.getMultiaddrs()[0]!)
    waited.catch(() => {})
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(1)
    await expect(second.dial(listener.getMultiaddrs()[0]!)).rejects.toThrow()
    expect(slots(listener).incomingQueue.size).toBe(1)

    // The listener lets it go after 400 ms, well before the dialler's own timeout (6 s).
    await expect.poll(() => slots(listener).incomingQueue.size, { timeout: 1_500 }).toBe(0)
    await expect(waited).rejects.toThrow()
    expect(slots(listener).incomingPendingConnections).toBe(1)
  })

  it('gives freed slots first come, first served', async () => {
    const listener = await node(undefined, { connectionManager: oneSlot(4) })
    const [first, second] = [await node(), await node()]
    const opened: string[] = []
    listener.addEventListener('connection:open', event => { opened.push(event.detail.remotePeer.toString()) })
    const holder = await silent(listener)
    await expect.poll(() => slots(listener).incomingPendingConnections).toBe(1)
    const dials = [first.dial(listener.getMultiaddrs()[0]!)]
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(1)
    dials.push(second.dial(listener.getMultiaddrs()[0]!))
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(2)

    holder.destroy()
    await Promise.all(dials)
    await expect.poll(() => opened.length).toBe(2)
    // One slot: the second is let in only when the first's handshake is done.
    expect(opened).toEqual([first.peerId.toString(), second.peerId.toString()])
  })

  it('lets a queued connection that closes leave the queue', async () => {
    const listener = await node(undefined, { connectionManager: oneSlot(4) })
    await silent(listener)
    await expect.poll(() => slots(listener).incomingPendingConnections).toBe(1)
    const leaver = await silent(listener)
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(1)
    leaver.destroy()
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(0)
    expect(slots(listener).incomingPendingConnections).toBe(1)
  })

  it('does not read a queued TCP connection: what it sends waits in the kernel', async () => {
    const listener = await node(undefined, { connectionManager: oneSlot(4) })
    await silent(listener)
    await expect.poll(() => slots(listener).incomingPendingConnections).toBe(1)
    const flooder = await silent(listener)
    await expect.poll(() => slots(listener).incomingQueue.size).toBe(1)

    const sent = 32 * 1024 * 1024
    flooder.write(Buffer.alloc(sent))
    await new Promise(resolve => setTimeout(resolve, 500))
    // Loopback's socket buffers hold a few MiB; the rest is still in the sender's hands.
    expect(flooder.writableLength).toBeGreaterThan(sent / 2)
    expect(flooder.destroyed).toBe(false)
    expect(slots(listener).incomingQueue.size).toBe(1)
  })

  describe('over WebSockets, which cannot pause reading', () => {
    const nodes: Libp2p[] = []
    afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

    it('closes a queued connection that sends more than a dialler\'s first flight', async () => {
      const listener = await createLibp2p({
        connectionManager: oneSlot(4),
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
        transports: [webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()]
      })
      nodes.push(listener)
      const url = `ws://127.0.0.1:${tcpPort(listener)}`
      const holder = new WebSocket(url)
      await once(holder, 'open')
      await expect.poll(() => slots(listener).incomingPendingConnections).toBe(1)
      const flooder = new WebSocket(url)
      await once(flooder, 'open')
      await expect.poll(() => slots(listener).incomingQueue.size).toBe(1)

      const closed = once(flooder, 'close', { signal: AbortSignal.timeout(5_000) })
      // A first flight is a few hundred bytes; this is past the 16 KiB a queued connection may buffer.
      for (let n = 0; n < 8; n++) flooder.send(new Uint8Array(4 * 1024))
      await closed
      expect(slots(listener).incomingQueue.size).toBe(0)
      holder.close()
    })
  })
})
