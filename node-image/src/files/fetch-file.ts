import { CID_CODECS } from '@meganet/contracts'
import { parseCid } from '../blocks/cid.js'
import { getVerifiedBlock } from './block-transport.js'
import { decryptChunk, decryptMeta } from './chunk-crypto.js'
import { BLOCK_OVERHEAD_BYTES } from './constants.js'
import { parseLink } from './link.js'
import { decodeManifest, ManifestError } from './manifest.js'
import { mapInOrder } from './ordered-pool.js'
import { resolveConcurrency } from './transfer-options.js'
import type { BlockTransport } from './block-transport.js'
import type { TransferProgress } from './progress.js'
import type { FileMeta, Manifest } from '@meganet/contracts'
import type { CID } from 'multiformats/cid'

export interface GetFileOptions {
  /** Chunks being fetched and decrypted at once. @default DEFAULT_CONCURRENCY */
  readonly concurrency?: number
  /** Called as chunks arrive; `totalBytes` is the file's size from its manifest. */
  readonly onProgress?: (progress: TransferProgress) => void
  /** Stops fetching; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

export interface GetFileResult {
  /** The name the file was shared under. Untrusted: do not use it as a path unchecked. */
  readonly name: string
  readonly size: number
}

export interface GetBlobResult extends GetFileResult {
  readonly blob: Blob
}

interface ChunkPlan {
  readonly cid: CID
  readonly blockBytes: number
}

/** Checks the chunk list against the (authenticated) file details before anything is fetched. */
function planChunks (manifest: Manifest, meta: FileMeta): ChunkPlan[] {
  let plainBytes = 0
  const plan = manifest.chunks.map((entry, index) => {
    let cid: CID
    try {
      cid = parseCid(entry.cid)
    } catch (err) {
      throw new ManifestError(`chunk ${index} has a bad CID: ${(err as Error).message}`, { cause: err })
    }
    if (cid.code !== CID_CODECS.raw) throw new ManifestError(`chunk ${index} is not a raw block`)
    if (entry.size < BLOCK_OVERHEAD_BYTES || entry.size - BLOCK_OVERHEAD_BYTES > meta.chunkSize) {
      throw new ManifestError(`chunk ${index} is listed as ${entry.size} bytes, which does not fit a chunk size of ${meta.chunkSize}`)
    }
    plainBytes += entry.size - BLOCK_OVERHEAD_BYTES
    return { cid, blockBytes: entry.size }
  })
  if (plainBytes !== meta.size) throw new ManifestError(`the chunks hold ${plainBytes} bytes but the file is ${meta.size} bytes`)
  return plan
}

/**
 * Fetches a file by its link, verifying and decrypting every block, and hands the plaintext to
 * `write` in order, one chunk at a time (at most `concurrency` chunks are held). Runs in browsers
 * and in Node; {@link getBlob} collects it into a `Blob`, Node's `getFile` writes it to a file.
 */
export async function fetchFile (link: string, transport: BlockTransport, write: (plaintext: Uint8Array) => Promise<void> | void, options: GetFileOptions = {}): Promise<GetFileResult> {
  const concurrency = resolveConcurrency(options.concurrency)
  const { manifestCid, key } = parseLink(link)
  const manifest = decodeManifest(await getVerifiedBlock(transport, manifestCid))
  const meta = await decryptMeta(key, manifest.meta)
  const plan = planChunks(manifest, meta)
  options.signal?.throwIfAborted()

  let written = 0
  options.onProgress?.({ bytes: 0, totalBytes: meta.size })
  await mapInOrder(plan, async (chunk, index) => {
    const block = await getVerifiedBlock(transport, chunk.cid)
    if (block.byteLength !== chunk.blockBytes) throw new ManifestError(`chunk ${index} is ${block.byteLength} bytes; the manifest says ${chunk.blockBytes}`)
    return await decryptChunk(key, index, block)
  }, async plaintext => {
    await write(plaintext)
    written += plaintext.byteLength
    options.onProgress?.({ bytes: written, totalBytes: meta.size })
  }, { limit: concurrency, ...(options.signal != null ? { signal: options.signal } : {}) })
  if (written !== meta.size) throw new ManifestError(`got ${written} bytes but the file is ${meta.size} bytes`)
  return { name: meta.name, size: meta.size }
}

/** Fetches a file by its link into a `Blob` (held in memory: a page then offers it as a download). */
export async function getBlob (link: string, transport: BlockTransport, options: GetFileOptions = {}): Promise<GetBlobResult> {
  const parts: Array<Uint8Array<ArrayBuffer>> = []
  const result = await fetchFile(link, transport, plaintext => { parts.push(plaintext as Uint8Array<ArrayBuffer>) }, options)
  return { ...result, blob: new Blob(parts) }
}
