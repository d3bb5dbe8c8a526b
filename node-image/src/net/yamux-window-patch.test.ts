import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { describe, expect, it } from 'vitest'
import type { Stream, StreamMuxer } from '@libp2p/interface'

/** yamux frame types (spec): 0 data, 1 window update. */
const WINDOW_UPDATE = 1
const MESSAGES = 200
const MESSAGE_BYTES = 1_000

/** Counts the window update frames a muxer sends without flags (not the SYN/ACK/FIN ones). */
function countWindowUpdates (muxer: StreamMuxer): () => number {
  let count = 0
  const target = muxer as unknown as { sendFrame: (header: { type: number, flag: number }, data?: unknown) => boolean }
  const send = target.sendFrame.bind(target)
  target.sendFrame = (header, data) => {
    if (header.type === WINDOW_UPDATE && header.flag === 0) count++
    return send(header, data)
  }
  return () => count
}

async function received (stream: Stream, bytes: number): Promise<void> {
  let total = 0
  await new Promise<void>(resolve => {
    stream.addEventListener('message', event => {
      total += event.data.byteLength
      if (total >= bytes) resolve()
    })
  })
}

describe('the yamux window update patch (patches/README.md)', () => {
  it('grants more window once half of it is used, not after every data frame, and delivers every byte', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const client = yamux()().createStreamMuxer(outbound)
    const server = yamux()().createStreamMuxer(inbound)
    const updates = countWindowUpdates(server)
    const incoming = new Promise<Stream>(resolve => { server.addEventListener('stream', event => { resolve(event.detail) }) })
    const stream = await client.createStream()
    // The SYN travels with the first data frame.
    stream.send(new Uint8Array(MESSAGE_BYTES))
    const remote = await incoming
    const all = received(remote, MESSAGES * MESSAGE_BYTES)
    for (let i = 1; i < MESSAGES; i++) {
      if (!stream.send(new Uint8Array(MESSAGE_BYTES).fill(i % 256))) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    }
    await all
    // 200 kB through a 256 KiB window: no update was due (one per frame, 200, unpatched).
    expect(updates()).toBeLessThan(5)
    await client.close()
    await server.close()
  })

  it('still lets a sender push far more than one window through', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const client = yamux()().createStreamMuxer(outbound)
    const server = yamux()().createStreamMuxer(inbound)
    const updates = countWindowUpdates(server)
    const incoming = new Promise<Stream>(resolve => { server.addEventListener('stream', event => { resolve(event.detail) }) })
    const stream = await client.createStream()
    const chunk = new Uint8Array(16 * 1024)
    stream.send(chunk)
    const remote = await incoming
    const total = 4 * 1024 * 1024
    const all = received(remote, total)
    for (let sent = chunk.byteLength; sent < total; sent += chunk.byteLength) {
      if (!stream.send(chunk)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
    }
    await all
    // 4 MiB in 16 KiB frames is 256 frames; updates come once per half window.
    expect(updates()).toBeGreaterThan(0)
    expect(updates()).toBeLessThan(64)
    await client.close()
    await server.close()
  })
})
