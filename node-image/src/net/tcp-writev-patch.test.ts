import { Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Multiaddr } from '@multiformats/multiaddr'

const PROTOCOL = '/meganet-test/echo/1.0.0'
const MESSAGES = 50

/** Counts the sockets' write and writev calls from now on (the spies are restored after each test). */
function socketWrites (): () => { write: number, writev: number } {
  const write = vi.spyOn(Socket.prototype, '_write')
  const writev = vi.spyOn(Socket.prototype, '_writev')
  return () => ({ write: write.mock.calls.length, writev: writev.mock.calls.length })
}

describe('the TCP writev patch (patches/README.md)', () => {
  const node = loopbackNodes()
  afterEach(() => { vi.restoreAllMocks() })

  it('writes each encrypted message (length, then ciphertext) to the socket in one call', async () => {
    const [dialer, listener] = [await node(), await node()]
    await listener.handle(PROTOCOL, stream => {
      stream.addEventListener('message', event => { stream.send(event.data) })
    })
    const stream = await dialer.dialProtocol(listener.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    const writes = socketWrites()
    for (let i = 0; i < MESSAGES; i++) {
      const echoed = new Promise(resolve => { stream.addEventListener('message', resolve, { once: true }) })
      stream.send(new TextEncoder().encode(`message ${i}`))
      await echoed
    }
    // Each message crossed two sockets (there and back). Unpatched: two write calls each, and no writev.
    expect(writes().writev).toBeGreaterThanOrEqual(2 * MESSAGES)
    expect(writes().write).toBeLessThan(MESSAGES / 5)
  })

  it('writes what one turn of the event loop sends, over several messages, in one call', async () => {
    const [dialer, listener] = [await node(), await node()]
    let received = 0
    const all = new Promise<void>(resolve => {
      void listener.handle(PROTOCOL, stream => {
        stream.addEventListener('message', event => { received += event.data.byteLength; if (received === 10 * 9) resolve() })
      })
    })
    const stream = await dialer.dialProtocol(listener.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    await new Promise(resolve => setTimeout(resolve, 50))
    const writes = socketWrites()
    for (let i = 0; i < 10; i++) stream.send(new TextEncoder().encode(`message ${i}`))
    // The listener reads only in a later poll phase, so what is written by now is the dialer's burst.
    await new Promise(resolve => setImmediate(resolve))
    const burst = writes()
    await all
    // Ten Noise messages (two buffers each); without the patch, ten writev calls.
    expect(burst).toEqual({ writev: 1, write: 0 })
  })

  it('sends bulk data at once, not at the end of the turn', async () => {
    const [dialer, listener] = [await node(), await node()]
    await listener.handle(PROTOCOL, () => {})
    const stream = await dialer.dialProtocol(listener.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    await new Promise(resolve => setTimeout(resolve, 50))
    const writes = socketWrites()
    stream.send(new Uint8Array(64 * 1024))
    // Still in the turn that sent it: held to the turn's end, a stream of such messages went in bursts.
    expect(writes().writev).toBeGreaterThanOrEqual(1)
  })
})
