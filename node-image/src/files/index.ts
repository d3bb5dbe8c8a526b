/**
 * @packageDocumentation
 * Files on MegaNet: streamed in chunks, each encrypted on the peer with the file's own key,
 * stored as CID-addressed blocks under a pinned manifest, and shared as
 * `meganet://<manifest CID>#<key>`. Anchors hold only ciphertext; the key travels in the link.
 */
export { putFile } from './put-file.js'
export { putBlob, PutFileError } from './put-blob.js'
export type { PutFileOptions, PutFileResult } from './put-blob.js'
export { getFile } from './get-file.js'
export { fetchFile, getBlob } from './fetch-file.js'
export type { GetFileOptions, GetFileResult, GetBlobResult } from './fetch-file.js'
export { getVerifiedBlock, BlockMismatchError } from './block-transport.js'
export type { BlockTransport } from './block-transport.js'
export { MemoryBlockTransport, BlockNotFoundError } from './memory-transport.js'
export { formatLink, parseLink, LinkError } from './link.js'
export type { FileLink } from './link.js'
export { DecryptError } from './chunk-crypto.js'
export { ManifestError, maxManifestChunks } from './manifest.js'
export { TransferOptionError, parseChunkSizeText, parseConcurrencyText } from './transfer-options.js'
export { createProgressReporter, formatDuration } from './progress.js'
export type { TransferProgress, ProgressReporter, ProgressReporterOptions, ProgressStream } from './progress.js'
export {
  DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES, DEFAULT_CONCURRENCY, MAX_CONCURRENCY, BLOCK_OVERHEAD_BYTES
} from './constants.js'
