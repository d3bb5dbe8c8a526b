import { MAX_PEER_MESSAGE_BYTES } from '@meganet/contracts'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { z } from 'zod'

export class FrameError extends Error {
  override readonly name = 'FrameError'
}

/**
 * One request/response exchange of JSON values in length-prefixed frames, with a size cap. The
 * stream buffers at most one frame: a peer that pushes more is cut off, not buffered (libp2p's
 * default would hold up to 4 MiB per stream).
 */
export function jsonFrames (stream: Stream) {
  const framed = lpStream(stream, { maxDataLength: MAX_PEER_MESSAGE_BYTES, maxBufferSize: MAX_PEER_MESSAGE_BYTES + 8 })
  return {
    async write (value: unknown, signal: AbortSignal): Promise<void> {
      await framed.write(new TextEncoder().encode(JSON.stringify(value)), { signal })
    },
    async read<T> (schema: z.ZodType<T>, signal: AbortSignal): Promise<T> {
      return decodeJsonFrame((await framed.read({ signal })).subarray(), schema)
    }
  }
}

/** A JSON frame's value, validated; a {@link FrameError} says what is wrong. */
export function decodeJsonFrame<T> (bytes: Uint8Array, schema: z.ZodType<T>): T {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new FrameError('frame is not UTF-8 JSON', { cause: err })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw new FrameError(`frame does not match the protocol: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data
}
