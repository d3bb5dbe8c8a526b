import { MAX_BLOCK_BYTES, manifestSchema } from '@meganet/contracts'
import { BLOCK_OVERHEAD_BYTES, CHUNK_CID_CHARS, MAX_MANIFEST_CHUNKS } from './constants.js'
import type { Manifest } from '@meganet/contracts'

/**
 * A file's manifest: a `json` block listing its chunk blocks (CID and stored size) in order,
 * with the file's details encrypted in `meta`. It must fit in one block itself.
 */

/** A malformed manifest, one that disagrees with its chunks, or a file too large for one. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError'
}

/** Room kept for the envelope and the largest encrypted `meta`. */
const ENVELOPE_BYTES = 8 * 1024 + 64

/** How many chunks of `chunkSize` plaintext bytes one manifest block can list. */
export function maxManifestChunks (chunkSize: number): number {
  const entry = JSON.stringify({ cid: 'b'.repeat(CHUNK_CID_CHARS), size: chunkSize + BLOCK_OVERHEAD_BYTES }).length + 1
  return Math.min(MAX_MANIFEST_CHUNKS, Math.floor((MAX_BLOCK_BYTES - ENVELOPE_BYTES) / entry))
}

/** Fails before anything is stored when a file of `size` bytes would need too many chunks. */
export function checkManifestCapacity (size: number, chunkSize: number): void {
  const chunks = Math.ceil(size / chunkSize)
  const limit = maxManifestChunks(chunkSize)
  if (chunks > limit) {
    throw new ManifestError(`a file of ${size} bytes needs ${chunks} chunks of ${chunkSize} bytes; one manifest lists at most ${limit}: use a larger chunk size`)
  }
}

export function encodeManifest (manifest: Manifest): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(manifestSchema.parse(manifest)))
  if (bytes.byteLength > MAX_BLOCK_BYTES) throw new ManifestError(`manifest of ${manifest.chunks.length} chunks is ${bytes.byteLength} bytes; a block holds at most ${MAX_BLOCK_BYTES}: use a larger chunk size`)
  return bytes
}

export function decodeManifest (bytes: Uint8Array): Manifest {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new ManifestError('manifest block is not UTF-8 JSON', { cause: err })
  }
  const parsed = manifestSchema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ManifestError(`malformed manifest: ${issue != null ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}`)
  }
  return parsed.data
}
