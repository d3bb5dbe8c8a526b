import { describe, expect, it } from 'vitest'
import { DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY, MAX_CHUNK_BYTES, MAX_CONCURRENCY, MIN_CHUNK_BYTES } from './constants.js'
import { parseChunkSizeText, parseConcurrencyText, resolveChunkSize, resolveConcurrency, TransferOptionError } from './transfer-options.js'

describe('transfer options', () => {
  it('fall back to the defaults', () => {
    expect(resolveChunkSize()).toBe(DEFAULT_CHUNK_BYTES)
    expect(resolveConcurrency()).toBe(DEFAULT_CONCURRENCY)
  })

  it('accept the limits themselves', () => {
    expect(resolveChunkSize(MIN_CHUNK_BYTES)).toBe(MIN_CHUNK_BYTES)
    expect(resolveChunkSize(MAX_CHUNK_BYTES)).toBe(MAX_CHUNK_BYTES)
    expect(resolveConcurrency(1)).toBe(1)
    expect(resolveConcurrency(MAX_CONCURRENCY)).toBe(MAX_CONCURRENCY)
  })

  it('refuse values outside the limits', () => {
    expect(() => resolveChunkSize(MIN_CHUNK_BYTES - 1)).toThrow(TransferOptionError)
    expect(() => resolveChunkSize(MAX_CHUNK_BYTES + 1)).toThrow(/chunk size must be .* from 1.0 KiB to 4.0 MiB/)
    expect(() => resolveChunkSize(2048.5)).toThrow(TransferOptionError)
    expect(() => resolveConcurrency(0)).toThrow(/concurrency must be/)
    expect(() => resolveConcurrency(MAX_CONCURRENCY + 1)).toThrow(TransferOptionError)
  })

  it('parse flag text with units', () => {
    expect(parseChunkSizeText('64KiB')).toBe(64 * 1024)
    expect(parseChunkSizeText('4MiB')).toBe(MAX_CHUNK_BYTES)
    expect(() => parseChunkSizeText('5MiB')).toThrow(/chunk size must be/)
    expect(() => parseChunkSizeText('big')).toThrow(/is not a size/)
    expect(parseConcurrencyText(' 8 ')).toBe(8)
    expect(() => parseConcurrencyText('2.5')).toThrow(/not a whole number/)
  })
})
