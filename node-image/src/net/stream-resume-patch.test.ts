import { describe, expect, it } from 'vitest'
import { pushUntilHeldBack } from './backpressure.fixture.js'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PROTOCOL = '/meganet-test/relay-like/1.0.0'
const CHUNK = new Uint8Array(64 * 1024)
/** More than a stream's read buffer may hold (4 MiB) before libp2p aborts it. */
const OFFERED_BYTES = 8 * 1024 * 1024
/** What may sit in the paused stream's read buffer: its yamux window (256 KiB at first) and a frame. */
const HELD_BOUND = 1024 * 1024

async function push (stream: Stream, bytes: number): Promise<void> {
  await pushUntilHeldBack(stream, bytes, () => CHUNK, 500)
}

describe('the stream resume patch (patches/README.md)', () => {
  const node = loopbackNodes()

  it('a stream its message listener pauses again during resume() stays paused, and its sender held back', async () => {
    const [sender, receiver] = [await node(), await node()]
    let inbound: Stream | undefined
    // As the circuit relay does while the other side of a circuit is full: pause at every message.
    await receiver.handle(PROTOCOL, stream => {
      inbound = stream
      stream.addEventListener('message', () => { stream.pause() })
    })
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    await push(stream, OFFERED_BYTES)
    expect(inbound?.readStatus).toBe('paused')

    inbound?.resume()
    expect(inbound?.readStatus).toBe('paused')
    await push(stream, OFFERED_BYTES)
    // Unpatched, resume() told the muxer to go on after the listener had paused again: the sender
    // filled the read buffer past 4 MiB and libp2p aborted the stream.
    expect(inbound?.status).toBe('open')
    expect(inbound?.readBufferLength).toBeLessThanOrEqual(HELD_BOUND)
  })
})
