import { Uint8ArrayList } from 'uint8arraylist'

/** A received chunk at least this long that fills most of the memory behind it is kept as it came. */
export const MIN_KEPT_CHUNK_BYTES = 8 * 1024
/** Smaller chunks are copied together into pieces of this size. */
export const STAGING_BYTES = 16 * 1024

/**
 * Received bytes, in order. A chunk of at least {@link MIN_KEPT_CHUNK_BYTES} that fills at least
 * three quarters of the memory behind it is kept as it came (a block's bytes are not copied on
 * the way in); smaller chunks, and small slices of large buffers, are copied together into
 * {@link STAGING_BYTES} pieces. So the memory held stays close to the bytes counted, and a sender
 * of one-byte frames cannot make a frame of millions of pieces (each an object, and a step for
 * whoever hashes, writes or forwards the frame).
 */
export class ReceiveBuffer {
  private readonly list = new Uint8ArrayList()
  private staging?: Uint8Array
  private staged = 0

  get byteLength (): number {
    return this.list.byteLength + this.staged
  }

  append (chunk: Uint8Array): void {
    if (chunk.byteLength >= MIN_KEPT_CHUNK_BYTES && chunk.byteLength * 4 >= chunk.buffer.byteLength * 3) {
      this.flush()
      this.list.append(chunk)
      return
    }
    for (let offset = 0; offset < chunk.byteLength;) {
      this.staging ??= new Uint8Array(STAGING_BYTES)
      const n = Math.min(chunk.byteLength - offset, STAGING_BYTES - this.staged)
      this.staging.set(chunk.subarray(offset, offset + n), this.staged)
      this.staged += n
      offset += n
      if (this.staged === STAGING_BYTES) this.flush()
    }
  }

  /** Everything buffered, as one list to read (`subarray`, `sublist`) and `consume` from. */
  bytes (): Uint8ArrayList {
    this.flush()
    return this.list
  }

  private flush (): void {
    if (this.staging == null || this.staged === 0) return
    if (this.staged === STAGING_BYTES) {
      this.list.append(this.staging)
      this.staging = undefined
    } else {
      // A part-filled piece is copied out at its size and the staging memory used again.
      this.list.append(this.staging.slice(0, this.staged))
    }
    this.staged = 0
  }
}
