import { describe, expect, it } from 'vitest'
import { MIN_KEPT_CHUNK_BYTES, ReceiveBuffer, STAGING_BYTES } from './receive-buffer.js'

describe('ReceiveBuffer', () => {
  it('keeps large chunks as they came and joins small ones, in order', () => {
    const received = new ReceiveBuffer()
    const large = new Uint8Array(64 * 1024).fill(7)
    received.append(Uint8Array.of(1, 2))
    received.append(large)
    received.append(Uint8Array.of(3))
    received.append(Uint8Array.of(4))
    const pieces = [...received.bytes()]
    expect(pieces.map(piece => piece.byteLength)).toEqual([2, large.byteLength, 2])
    expect(pieces[1]).toBe(large)
    expect(received.bytes().subarray()).toEqual(Uint8Array.of(1, 2, ...large, 3, 4))
  })

  it('copies a small slice of a large buffer instead of holding the buffer', () => {
    const received = new ReceiveBuffer()
    const large = new Uint8Array(1024 * 1024)
    received.append(large.subarray(0, MIN_KEPT_CHUNK_BYTES))
    received.append(large.subarray(5, 15))
    for (const piece of received.bytes()) expect(piece.buffer).not.toBe(large.buffer)
  })

  it('holds a million one-byte chunks as a few pieces', () => {
    const received = new ReceiveBuffer()
    for (let i = 0; i < 1_000_000; i++) received.append(Uint8Array.of(i & 0xff))
    expect(received.byteLength).toBe(1_000_000)
    expect([...received.bytes()].length).toBe(Math.ceil(1_000_000 / STAGING_BYTES))
    expect(received.bytes().get(999_999)).toBe(999_999 & 0xff)
  })
})
