import { lpStream, streamPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { FrameRefusedError, FrameTooLargeError, boundedFrames } from './bounded-frames.js'
import { pushUntilHeldBack } from './backpressure.fixture.js'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

function varint (value: number): Uint8Array {
  const out: number[] = []
  let rest = value
  while (rest >= 0x80) { out.push((rest & 0x7f) | 0x80); rest = Math.floor(rest / 128) }
  out.push(rest)
  return Uint8Array.from(out)
}

const signal = (): AbortSignal => AbortSignal.timeout(2_000)

describe('boundedFrames', () => {
  it('reads frames written by a plain length-prefixed writer, and writes frames it can read', async () => {
    const [client, server] = await streamPair()
    const frames = boundedFrames(server, 1024)
    const writer = lpStream(client)
    await writer.write(new TextEncoder().encode('header'))
    await writer.write(new Uint8Array(5000).fill(7))
    expect(new TextDecoder().decode((await frames.read({ maxLength: 100, signal: signal() })).subarray())).toBe('header')
    expect((await frames.read({ maxLength: 10_000, signal: signal() })).byteLength).toBe(5000)
    await frames.write(new TextEncoder().encode('reply'), signal())
    expect(new TextDecoder().decode((await writer.read({ signal: signal() })).subarray())).toBe('reply')
  })

  it('keeps the chunks of a block as they came', async () => {
    // A stream as a muxer hands data on: message events whose data may be a list of chunks.
    const stream = Object.assign(new EventTarget(), { readStatus: 'readable', pause () {}, resume () {} })
    const frames = boundedFrames(stream as unknown as Stream, 1024)
    const deliver = (data: Uint8Array | Uint8ArrayList): void => { stream.dispatchEvent(Object.assign(new Event('message'), { data })) }
    const parts = [new Uint8Array(100_000).fill(3), new Uint8Array(200_000).fill(4)]
    deliver(varint(300_000))
    deliver(new Uint8ArrayList(...parts))
    const frame = await frames.read({ maxLength: 1_000_000, signal: signal() })
    expect(frame.subarray()).toEqual(new Uint8ArrayList(...parts).subarray())
    expect([...frame].map((chunk, i) => chunk.buffer === parts[i]?.buffer)).toEqual([true, true])
  })

  it('reads a frame sent one byte per message as a few pieces', async () => {
    const stream = Object.assign(new EventTarget(), { readStatus: 'readable', pause () {}, resume () {} })
    const frames = boundedFrames(stream as unknown as Stream, 1024)
    const block = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251)
    for (const byte of [...varint(block.byteLength), ...block]) stream.dispatchEvent(Object.assign(new Event('message'), { data: Uint8Array.of(byte) }))
    const frame = await frames.read({ maxLength: 1_000_000, signal: signal() })
    expect(frame.subarray()).toEqual(block)
    expect([...frame].length).toBeLessThanOrEqual(8)
  })

  it('refuses an announced length past the limit before the bytes arrive', async () => {
    const [client, server] = await streamPair()
    const frames = boundedFrames(server, 1024)
    client.send(varint(4 * 1024 * 1024))
    await expect(frames.read({ maxLength: 16 * 1024, signal: signal() })).rejects.toBeInstanceOf(FrameTooLargeError)
  })

  it('asks the budget before taking a frame in', async () => {
    const [client, server] = await streamPair()
    const frames = boundedFrames(server, 1024)
    const asked: number[] = []
    client.send(varint(3000))
    await expect(frames.read({ maxLength: 10_000, signal: signal(), admit: length => { asked.push(length); return false } })).rejects.toBeInstanceOf(FrameRefusedError)
    expect(asked).toEqual([3000])
  })

  it('pauses a sender that pushes more than the allowance between frames', async () => {
    const [client, server] = await streamPair()
    boundedFrames(server, 1024)
    client.send(new Uint8Array(8 * 1024))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(server.readStatus).toBe('paused')
  })

  it('fails a read when the stream ends mid-frame, and when the time is up', async () => {
    const [client, server] = await streamPair()
    const frames = boundedFrames(server, 1024)
    client.send(varint(100))
    client.send(new Uint8Array(10))
    await expect(frames.read({ maxLength: 1000, signal: AbortSignal.timeout(100) })).rejects.toThrow()
    const [client2, server2] = await streamPair()
    const frames2 = boundedFrames(server2, 1024)
    client2.send(varint(100))
    await client2.close()
    await expect(frames2.read({ maxLength: 1000, signal: signal() })).rejects.toThrow(/ended/)
  })

  describe('over a real yamux stream', () => {
    const node = loopbackNodes()

    it('holds a sender that floods past a frame to the allowance and the window, also after a read resumed the stream', async () => {
      const [sender, reader] = [await node(), await node()]
      let frames: ReturnType<typeof boundedFrames> | undefined
      let inbound: Stream | undefined
      await reader.handle('/meganet-test/frames/1.0.0', stream => {
        inbound = stream
        frames = boundedFrames(stream, 1024)
      })
      const stream = await sender.dialProtocol(reader.getMultiaddrs()[0] as Multiaddr, '/meganet-test/frames/1.0.0')
      stream.send(varint(100))
      stream.send(new Uint8Array(100))
      const flood = async (): Promise<unknown> => await pushUntilHeldBack(stream, 8 * 1024 * 1024, () => new Uint8Array(64 * 1024), 500)
      await flood()
      // Reading the frame resumes the stream; the reader's own listener pauses it again at once.
      expect((await (frames as ReturnType<typeof boundedFrames>).read({ maxLength: 1000, signal: signal() })).byteLength).toBe(100)
      await flood()
      // Unpatched (@libp2p/utils resume), the resume reopened the window: the sender went on until
      // the stream's read buffer passed 4 MiB and libp2p aborted it.
      expect(inbound?.status).toBe('open')
      expect(inbound?.readBufferLength).toBeLessThanOrEqual(1024 * 1024)
    })
  })
})
