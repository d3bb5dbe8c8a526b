import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
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
import type { FileHandle } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'

export interface GetFileOptions {
  /** Chunks being fetched and decrypted at once. @default DEFAULT_CONCURRENCY */
  readonly concurrency?: number
  /** Called as chunks are written; `totalBytes` is the file's size from its manifest. */
  readonly onProgress?: (progress: TransferProgress) => void
  /** Stops fetching; the call rejects with the signal's reason and leaves no file behind. */
  readonly signal?: AbortSignal
}

export interface GetFileResult {
  /** The name the file was shared under. Untrusted: do not use it as a path unchecked. */
  readonly name: string
  readonly size: number
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

async function writeAll (handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset)
    offset += bytesWritten
  }
}

/** `.<name>.<random>.part` in the same directory, so the final rename stays on one filesystem. */
function tempPathBeside (outPath: string): string {
  return join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.part`)
}

/**
 * Fetches a file by its link, verifying and decrypting every block, and writes it to `outPath`.
 * The chunks go, in order, to a temporary file beside `outPath` that is renamed into place only
 * once complete: `outPath` never holds a partial file, and a failure removes the temporary one.
 */
export async function getFile (link: string, transport: BlockTransport, outPath: string, options: GetFileOptions = {}): Promise<GetFileResult> {
  const concurrency = resolveConcurrency(options.concurrency)
  const { manifestCid, key } = parseLink(link)
  const manifest = decodeManifest(await getVerifiedBlock(transport, manifestCid))
  const meta = decryptMeta(key, manifest.meta)
  const plan = planChunks(manifest, meta)
  options.signal?.throwIfAborted()

  const tempPath = tempPathBeside(outPath)
  const handle = await open(tempPath, 'wx')
  let closed = false
  try {
    let written = 0
    options.onProgress?.({ bytes: 0, totalBytes: meta.size })
    await mapInOrder(plan, async (chunk, index) => {
      const block = await getVerifiedBlock(transport, chunk.cid)
      if (block.byteLength !== chunk.blockBytes) throw new ManifestError(`chunk ${index} is ${block.byteLength} bytes; the manifest says ${chunk.blockBytes}`)
      return decryptChunk(key, index, block)
    }, async plaintext => {
      await writeAll(handle, plaintext)
      written += plaintext.byteLength
      options.onProgress?.({ bytes: written, totalBytes: meta.size })
    }, { limit: concurrency, ...(options.signal != null ? { signal: options.signal } : {}) })
    if (written !== meta.size) throw new ManifestError(`wrote ${written} bytes but the file is ${meta.size} bytes`)
    await handle.sync()
    closed = true
    await handle.close()
    await rename(tempPath, outPath)
  } catch (err) {
    if (!closed) await handle.close().catch(() => {})
    await rm(tempPath, { force: true })
    throw err
  }
  return { name: meta.name, size: meta.size }
}
