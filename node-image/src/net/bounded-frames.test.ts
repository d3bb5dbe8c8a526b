import { lpStream, streamPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { FrameRefusedError, FrameTooLargeError, boundedFrames } from './bounded-frames.js'
import type { Stream } from '@libp2p/interface'

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
})
