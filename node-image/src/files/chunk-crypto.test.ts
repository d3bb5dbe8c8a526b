import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decryptChunk, decryptMeta, DecryptError, encryptChunk, encryptMeta, generateFileKey } from './chunk-crypto.js'
import { BLOCK_OVERHEAD_BYTES, FILE_KEY_BYTES, NONCE_BYTES } from './constants.js'
import { ManifestError } from './manifest.js'

describe('chunk encryption', () => {
  it('round-trips a chunk and adds exactly the overhead', () => {
    const key = generateFileKey()
    const plaintext = randomBytes(1000)
    const block = encryptChunk(key, 0, plaintext)
    expect(block.byteLength).toBe(plaintext.byteLength + BLOCK_OVERHEAD_BYTES)
    expect(decryptChunk(key, 0, block)).toEqual(new Uint8Array(plaintext))
  })

  it('round-trips an empty chunk', () => {
    const key = generateFileKey()
    expect(decryptChunk(key, 5, encryptChunk(key, 5, new Uint8Array(0)))).toHaveLength(0)
  })

  it('uses a fresh key per file and a fresh nonce per block', () => {
    expect(generateFileKey()).toHaveLength(FILE_KEY_BYTES)
    expect(generateFileKey()).not.toEqual(generateFileKey())
    const key = generateFileKey()
    const plaintext = new Uint8Array(64)
    const a = encryptChunk(key, 0, plaintext)
    const b = encryptChunk(key, 0, plaintext)
    expect(a.subarray(0, NONCE_BYTES)).not.toEqual(b.subarray(0, NONCE_BYTES))
    expect(a).not.toEqual(b)
  })

  it('fails clearly with the wrong key', () => {
    const block = encryptChunk(generateFileKey(), 3, randomBytes(100))
    expect(() => decryptChunk(generateFileKey(), 3, block)).toThrow(DecryptError)
    try {
      decryptChunk(generateFileKey(), 3, block)
    } catch (err) {
      expect(String(err)).toBe('DecryptError: cannot decrypt chunk 3: wrong key or the data was altered')
    }
  })

  it('fails when a block is altered, truncated or moved to another position', () => {
    const key = generateFileKey()
    const block = encryptChunk(key, 1, randomBytes(100))
    for (const at of [0, NONCE_BYTES + 5, block.byteLength - 1]) {
      const altered = block.slice()
      altered[at] = (altered[at] ?? 0) ^ 1
      expect(() => decryptChunk(key, 1, altered)).toThrow(/cannot decrypt chunk 1/)
    }
    expect(() => decryptChunk(key, 1, block.subarray(0, 10))).toThrow(DecryptError)
    expect(() => decryptChunk(key, 2, block)).toThrow(/cannot decrypt chunk 2/)
  })

  it('refuses keys of the wrong length', () => {
    expect(() => encryptChunk(new Uint8Array(16), 0, new Uint8Array(1))).toThrow(RangeError)
  })
})

describe('file details encryption', () => {
  const meta = { name: 'holiday photos.tar', size: 123_456, chunkSize: 65_536 }

  it('round-trips through base64url text', () => {
    const key = generateFileKey()
    const text = encryptMeta(key, meta)
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(text).not.toContain('holiday')
    expect(decryptMeta(key, text)).toEqual(meta)
  })

  it('fails clearly with the wrong key or altered text', () => {
    const text = encryptMeta(generateFileKey(), meta)
    expect(() => decryptMeta(generateFileKey(), text)).toThrow('cannot decrypt the file details: wrong key or the data was altered')
    expect(() => decryptMeta(generateFileKey(), 'not base64url!')).toThrow(ManifestError)
  })

  it('is not interchangeable with a chunk', () => {
    const key = generateFileKey()
    const chunk = Buffer.from(encryptChunk(key, 0, new TextEncoder().encode(JSON.stringify(meta)))).toString('base64url')
    expect(() => decryptMeta(key, chunk)).toThrow(DecryptError)
  })

  it('refuses malformed details before encrypting them', () => {
    expect(() => encryptMeta(generateFileKey(), { ...meta, size: -1 })).toThrow()
  })
})
