/**
 * Reads a `Blob` (a browser `File`, or Node's `fs.openAsBlob`) in slices of exactly `chunkSize`
 * bytes (the last may be shorter; an empty blob gives none). Each slice is read only when it is
 * pulled, so memory stays at what the consumer holds.
 */
export async function * readChunks (blob: Blob, chunkSize: number): AsyncGenerator<Uint8Array, void, undefined> {
  for (let offset = 0; offset < blob.size; offset += chunkSize) {
    yield new Uint8Array(await blob.slice(offset, Math.min(offset + chunkSize, blob.size)).arrayBuffer())
  }
}
