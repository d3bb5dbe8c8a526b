import * as varint from 'uint8-varint'
import { ReceiveBuffer } from './receive-buffer.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'

/** A frame announced longer than the reader allows: refused before a byte of it is buffered. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError'
  readonly length: number
  constructor (length: number, max: number) {
    super(`frame of ${length} bytes exceeds ${max}`)
    this.length = length
  }
}

/** The frame may not be read now (the caller's budget said no). */
export class FrameRefusedError extends Error {
  override readonly name = 'FrameRefusedError'
}

export class FrameStreamError extends Error {
  override readonly name = 'FrameStreamError'
}

const MAX_VARINT_BYTES = 5

export interface ReadFrameOptions {
  /** Longest frame accepted; longer ones throw {@link FrameTooLargeError} as soon as their length is read. */
  readonly maxLength: number
  readonly signal: AbortSignal
  /** Called with the frame's length before its bytes are buffered; false refuses the frame. */
  readonly admit?: (length: number) => boolean
}

/**
 * Length-prefixed frames read without trusting the sender: between frames the stream buffers at
 * most `idleAllowance` bytes and is paused past that (which stops the muxer's window updates,
 * so the sender stops); a frame's length is checked against the caller's limit and budget
 * before its bytes are let in. What a stalled or lying sender can make us hold is the allowance
 * plus the muxer window, not the length it announces.
 */
export function boundedFrames (stream: Stream, idleAllowance: number) {
  const received = new ReceiveBuffer()
  let allowance = idleAllowance
  let wake: (() => void) | undefined
  let ended = false
  let failure: Error | undefined

  const notify = (): void => { const w = wake; wake = undefined; w?.() }
  const pauseIfFull = (): void => {
    if (received.byteLength > allowance && stream.readStatus === 'readable') stream.pause()
  }
  const resume = (): void => {
    if (stream.readStatus === 'paused') stream.resume()
  }
  stream.addEventListener('message', (event: StreamMessageEvent) => {
    for (const chunk of event.data instanceof Uint8Array ? [event.data] : event.data) received.append(chunk)
    pauseIfFull()
    notify()
  })
  stream.addEventListener('remoteCloseWrite', () => { ended = true; notify() })
  stream.addEventListener('close', (event) => {
    ended = true
    if (event.error != null) failure = event.error
    notify()
  })

  const waitFor = async (bytes: number, signal: AbortSignal): Promise<void> => {
    while (received.byteLength < bytes) {
      if (failure != null) throw new FrameStreamError(`stream failed: ${failure.message}`, { cause: failure })
      if (ended) throw new FrameStreamError(`stream ended after ${received.byteLength} of ${bytes} bytes`)
      signal.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => { wake = undefined; reject(signal.reason as Error) }
        signal.addEventListener('abort', onAbort, { once: true })
        wake = () => { signal.removeEventListener('abort', onAbort); resolve() }
      })
    }
  }

  return {
    async read (options: ReadFrameOptions): Promise<Uint8ArrayList> {
      let length: number | undefined
      for (let have = 1; length == null; have++) {
        if (have > MAX_VARINT_BYTES) throw new FrameTooLargeError(Number.MAX_SAFE_INTEGER, options.maxLength)
        await waitFor(have, options.signal)
        try {
          length = varint.decode(received.bytes().subarray(0, have))
        } catch (err) {
          if (!(err instanceof RangeError)) throw err
        }
      }
      const prefix = varint.encodingLength(length)
      if (length > options.maxLength) throw new FrameTooLargeError(length, options.maxLength)
      if (options.admit != null && !options.admit(length)) throw new FrameRefusedError(`no room for a frame of ${length} bytes now`)
      allowance = Math.max(idleAllowance, prefix + length)
      resume()
      try {
        await waitFor(prefix + length, options.signal)
      } finally {
        allowance = idleAllowance
      }
      const bytes = received.bytes()
      const frame = bytes.sublist(prefix, prefix + length)
      bytes.consume(prefix + length)
      pauseIfFull()
      return frame
    },

    async write (data: Uint8Array | Uint8ArrayList, signal: AbortSignal): Promise<void> {
      stream.send(varint.encode(data.byteLength))
      if (stream.send(data)) return
      // The stream's next 'drain' event, which may be its connection's rather than its own: a
      // stream carries one or two frames, so that bounds what it queues. Waiting on onDrain()
      // for the stream's own room made puts 4-5% slower (storage benchmark, side by side).
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          stream.removeEventListener('drain', onDrain)
          stream.removeEventListener('close', onClose)
          signal.removeEventListener('abort', onAbort)
          if (err != null) reject(err)
          else resolve()
        }
        const onDrain = (): void => { done() }
        const onClose = (): void => { done(new FrameStreamError('stream closed while writing')) }
        const onAbort = (): void => { done(signal.reason as Error) }
        stream.addEventListener('drain', onDrain)
        stream.addEventListener('close', onClose)
        signal.addEventListener('abort', onAbort)
      })
    }
  }
}

export type BoundedFrames = ReturnType<typeof boundedFrames>
