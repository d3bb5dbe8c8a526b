import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'

/** A Noise-style frame: a 2-byte big-endian length, then the message. */
function frame (message: Uint8Array): Uint8Array {
  return Uint8Array.of(message.byteLength >> 8, message.byteLength & 0xff, ...message)
}

/** Noise's length decoder: throws a RangeError when fewer than 2 bytes are there. */
function uint16 (data: Uint8Array | Uint8ArrayList): number {
  if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
  return data instanceof Uint8Array ? (data[0] as number) << 8 | (data[1] as number) : data.getUint16(0)
}

describe('the length-prefixed decoder patch (patches/README.md)', () => {
  it('stops at an empty buffer without asking the length decoder, and still decodes split frames', () => {
    let emptyAsks = 0
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: data => { if (data.byteLength === 0) emptyAsks++; return uint16(data) },
      encodingLength: () => 2
    })
    const [a, b, c] = [Uint8Array.of(1, 2, 3), new Uint8Array(300).fill(7), Uint8Array.of(9)]
    const decode = (bytes: Uint8Array): number[][] => [...decoder.decode(bytes)].map(list => [...list.subarray()])

    // Two whole frames in one read: unpatched, each call ended by asking about an empty buffer.
    expect(decode(Uint8Array.of(...frame(a), ...frame(c)))).toEqual([[1, 2, 3], [9]])
    // One frame over three reads, the length prefix itself split.
    const framed = frame(b)
    expect(decode(framed.subarray(0, 1))).toEqual([])
    expect(decode(framed.subarray(1, 100))).toEqual([])
    expect(decode(framed.subarray(100))).toEqual([[...b]])
    expect(emptyAsks).toBe(0)
  })
})
