import type { Stream } from '@libp2p/interface'

export const BENCH_PROTOCOL = '/meganet/bench/1.0.0'
const CHUNK_BYTES = 64 * 1024

/**
 * Sends `bytes` of zeros with backpressure and resolves once the receiver acknowledged the
 * last byte (closing a stream does not mean the far side read it all).
 */
export async function sendBytes (stream: Stream, bytes: number, signal: AbortSignal): Promise<void> {
  const chunk = new Uint8Array(CHUNK_BYTES)
  let sent = 0
  const acked = new Promise<void>((resolve, reject) => {
    stream.addEventListener('message', () => { resolve() }, { once: true })
    stream.addEventListener('close', (event) => { if (event.error != null) reject(event.error) }, { once: true })
  })
  while (sent < bytes) {
    const size = Math.min(CHUNK_BYTES, bytes - sent)
    if (!stream.send(size === CHUNK_BYTES ? chunk : chunk.subarray(0, size))) await stream.onDrain({ signal })
    sent += size
  }
  await acked
  await stream.close({ signal }).catch(() => {})
}

/** Counts bytes until `bytes` arrived, then acknowledges with one byte. */
export function receiveBytes (stream: Stream, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0
    stream.addEventListener('message', (event) => {
      received += event.data.byteLength
      if (received >= bytes) {
        stream.send(Uint8Array.of(1))
        void stream.close().catch(() => {})
        resolve()
      }
    })
    stream.addEventListener('close', (event) => { if (received < bytes) reject(event.error ?? new Error(`stream closed after ${received} of ${bytes} bytes`)) }, { once: true })
  })
}
