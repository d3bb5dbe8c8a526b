import { cidOf } from '../blocks/cid.js'
import { encryptChunk, encryptMeta, generateFileKey } from './chunk-crypto.js'
import { readChunks } from './chunk-reader.js'
import { formatLink } from './link.js'
import { checkManifestCapacity, encodeManifest } from './manifest.js'
import { mapInOrder } from './ordered-pool.js'
import { resolveChunkSize, resolveConcurrency } from './transfer-options.js'
import type { BlockTransport } from './block-transport.js'
import type { TransferProgress } from './progress.js'
import type { Manifest } from '@meganet/contracts'
import type { CID } from 'multiformats/cid'

export class PutFileError extends Error {
  override readonly name = 'PutFileError'
}

export interface PutFileOptions {
  /** Plaintext bytes per chunk. @default DEFAULT_CHUNK_BYTES */
  readonly chunkSize?: number
  /** Chunks being encrypted and stored at once; reading waits for room. @default DEFAULT_CONCURRENCY */
  readonly concurrency?: number
  /** The name recorded (encrypted) for whoever gets the file. @default the file's name */
  readonly name?: string
  /** Called as chunks are stored; `totalBytes` is the file's size. */
  readonly onProgress?: (progress: TransferProgress) => void
  /** Stops reading and storing; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal
}

export interface PutFileResult {
  /** `meganet://<manifest CID>#<key>`: all anyone needs to get the file. Keep it secret. */
  readonly link: string
  readonly manifestCid: CID
  /** Plaintext bytes stored. */
  readonly size: number
  readonly chunks: number
}

interface StoredChunk {
  readonly entry: Manifest['chunks'][number]
  readonly plainBytes: number
}

/** The name a Blob carries: a `File`'s name, otherwise `file`. */
function nameOf (blob: Blob): string {
  return typeof File !== 'undefined' && blob instanceof File && blob.name !== '' ? blob.name : 'file'
}

/**
 * Encrypts a file (a `Blob`: a browser `File`, or Node's `fs.openAsBlob`) chunk by chunk under a
 * fresh key and stores the chunks, then the manifest (pinned). At most `concurrency` chunks are
 * held at once, whatever the file's size. Runs in browsers and in Node.
 */
export async function putBlob (blob: Blob, transport: BlockTransport, options: PutFileOptions = {}): Promise<PutFileResult> {
  const chunkSize = resolveChunkSize(options.chunkSize)
  const concurrency = resolveConcurrency(options.concurrency)
  const name = options.name ?? nameOf(blob)
  const key = generateFileKey()
  const chunks: Array<Manifest['chunks'][number]> = []
  let size = 0

  checkManifestCapacity(blob.size, chunkSize)
  let stored = 0
  const report = (): void => options.onProgress?.({ bytes: stored, totalBytes: Math.max(blob.size, stored) })
  report()
  await mapInOrder(readChunks(blob, chunkSize), async (plaintext, index): Promise<StoredChunk> => {
    const block = await encryptChunk(key, index, plaintext)
    const cid = await cidOf(block, 'raw')
    await transport.put(cid, block, { pin: false })
    stored += plaintext.byteLength
    report()
    return { entry: { cid: cid.toString(), size: block.byteLength }, plainBytes: plaintext.byteLength }
  }, chunk => {
    chunks.push(chunk.entry)
    size += chunk.plainBytes
  }, { limit: concurrency, ...(options.signal != null ? { signal: options.signal } : {}) })

  const manifest = encodeManifest({ v: 1, chunks, meta: await encryptMeta(key, { name, size, chunkSize }) })
  const manifestCid = await cidOf(manifest, 'json')
  options.signal?.throwIfAborted()
  await transport.put(manifestCid, manifest, { pin: true })
  return { link: formatLink(manifestCid, key), manifestCid, size, chunks: chunks.length }
}
