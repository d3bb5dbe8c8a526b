import type { Stream } from '@libp2p/interface'

/**
 * Resolves true at the stream's next `drain` event, false when none comes within `ms`. Waits on
 * the event, not on `onDrain()`, so tests measure the stream whatever `onDrain()` does.
 */
export async function drainedWithin (stream: Stream, ms: number): Promise<boolean> {
  return await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => { stream.removeEventListener('drain', onDrain); resolve(false) }, ms)
    const onDrain = (): void => { clearTimeout(timer); resolve(true) }
    stream.addEventListener('drain', onDrain, { once: true })
  })
}

/**
 * Sends `next(i)` for i = 0, 1, … until the stream has taken `bytes` or stops taking more: no
 * `drain` for `stalledAfterMs`, or the stream is no longer open. Returns the messages sent and
 * the bytes the stream took (sent, less what still waits in its write buffer).
 */
export async function pushUntilHeldBack (stream: Stream, bytes: number, next: (index: number) => Uint8Array, stalledAfterMs: number): Promise<{ messages: number, accepted: number }> {
  let messages = 0
  let sent = 0
  while (sent - stream.writeBufferLength < bytes && stream.status === 'open') {
    const message = next(messages++)
    sent += message.byteLength
    if (stream.send(message)) continue
    if (!await drainedWithin(stream, stalledAfterMs)) break
  }
  return { messages, accepted: sent - stream.writeBufferLength }
}
