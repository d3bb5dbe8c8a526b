import type { FileHandle } from 'node:fs/promises'

/**
 * Reads a file in slices of exactly `chunkSize` bytes (the last may be shorter; an empty file
 * gives none). Each slice is read only when it is pulled, so memory stays at what the consumer
 * holds. The caller owns the handle and closes it.
 */
export async function * readChunks (handle: FileHandle, chunkSize: number): AsyncGenerator<Uint8Array, void, undefined> {
  let position = 0
  while (true) {
    const buffer = new Uint8Array(chunkSize)
    let filled = 0
    while (filled < chunkSize) {
      const { bytesRead } = await handle.read(buffer, filled, chunkSize - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    if (filled === 0) return
    position += filled
    yield filled === chunkSize ? buffer : buffer.subarray(0, filled)
    if (filled < chunkSize) return
  }
}
