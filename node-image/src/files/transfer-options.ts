import { parseSize } from '../config/units.js'
import { formatBytes } from '../config/units.js'
import { DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY, MAX_CHUNK_BYTES, MAX_CONCURRENCY, MIN_CHUNK_BYTES } from './constants.js'

/** A chunk size or concurrency outside its limits, or a flag that does not parse as one. */
export class TransferOptionError extends Error {
  override readonly name = 'TransferOptionError'
}

/** The chunk size to use: the default when unset, else checked against the limits. */
export function resolveChunkSize (value?: number): number {
  if (value == null) return DEFAULT_CHUNK_BYTES
  if (!Number.isInteger(value) || value < MIN_CHUNK_BYTES || value > MAX_CHUNK_BYTES) {
    throw new TransferOptionError(`chunk size must be a whole number of bytes from ${formatBytes(MIN_CHUNK_BYTES)} to ${formatBytes(MAX_CHUNK_BYTES)}; got ${value}`)
  }
  return value
}

/** How many chunks may be in flight: the default when unset, else checked against the limits. */
export function resolveConcurrency (value?: number): number {
  if (value == null) return DEFAULT_CONCURRENCY
  if (!Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) {
    throw new TransferOptionError(`concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}; got ${value}`)
  }
  return value
}

/** `--chunk-size` text: `"256KiB"`, `"4MiB"`, `"65536"`. */
export function parseChunkSizeText (text: string): number {
  const value = parseSize(text)
  if (value == null) throw new TransferOptionError(`${JSON.stringify(text)} is not a size; expected e.g. 256KiB or 4MiB`)
  return resolveChunkSize(value)
}

/** `--concurrency` text. */
export function parseConcurrencyText (text: string): number {
  const trimmed = text.trim()
  if (!/^\d+$/.test(trimmed)) throw new TransferOptionError(`${JSON.stringify(text)} is not a whole number`)
  return resolveConcurrency(Number(trimmed))
}
