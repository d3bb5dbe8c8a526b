/** Every default and limit of file transfer, in one place. Tests import these instead of repeating numbers. */

export { DEFAULT_CHUNK_BYTES } from '@meganet/contracts'

/** AES-256: one random key per file, carried only in the link. */
export const FILE_KEY_BYTES = 32
/** A random 96-bit GCM nonce per block. */
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
/** What encryption adds to every block: nonce ‖ ciphertext ‖ tag. */
export const BLOCK_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES

/** Smaller chunks only bloat the manifest. */
export const MIN_CHUNK_BYTES = 1024
/** 4 MiB: an encrypted chunk of this size still fits in one block (`MAX_BLOCK_BYTES`). */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024

/** Chunks being encrypted and stored, or fetched and decrypted, at once. */
export const DEFAULT_CONCURRENCY = 4
/** Memory stays near `concurrency × 2 × chunk size`, so the window is bounded too. */
export const MAX_CONCURRENCY = 64

/** The most chunks `manifestSchema` accepts. */
export const MAX_MANIFEST_CHUNKS = 1_000_000
/** Length of a `raw` sha2-256 CIDv1 in base32, as it appears in a manifest. */
export const CHUNK_CID_CHARS = 59

/** Without a terminal, a progress line at most this often. */
export const DEFAULT_PLAIN_PROGRESS_INTERVAL_MS = 5_000
/** On a terminal, the progress line is redrawn at most this often. */
export const DEFAULT_TTY_PROGRESS_INTERVAL_MS = 100
/** The rate (and so the ETA) is measured over this recent stretch of the transfer. */
export const PROGRESS_RATE_WINDOW_MS = 5_000
