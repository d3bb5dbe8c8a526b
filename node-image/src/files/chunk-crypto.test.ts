import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { decryptChunk, decryptMeta, DecryptError, encryptChunk, encryptMeta, generateFileKey } from './chunk-crypto.js'
import { BLOCK_OVERHEAD_BYTES, FILE_KEY_BYTES, NONCE_BYTES } from './constants.js'
import { ManifestError } from './manifest.js'

describe('chunk encryption', () => {
  it('round-trips a chunk and adds exactly the overhead', async () => {
    const key = generateFileKey()
    const plaintext = randomBytes(1000)
    const block = await encryptChunk(key, 0, plaintext)
    expect(block.byteLength).toBe(plaintext.byteLength + BLOCK_OVERHEAD_BYTES)
    expect(Buffer.from(await decryptChunk(key, 0, block)).equals(plaintext)).toBe(true)
  })

  it('round-trips an empty chunk', async () => {
    const key = generateFileKey()
    expect(await decryptChunk(key, 5, await encryptChunk(key, 5, new Uint8Array(0)))).toHaveLength(0)
  })

  it('uses a fresh key per file and a fresh nonce per block', async () => {
    expect(generateFileKey()).toHaveLength(FILE_KEY_BYTES)
    expect(generateFileKey()).not.toEqual(generateFileKey())
    const key = generateFileKey()
    const plaintext = new Uint8Array(64)
    const a = await encryptChunk(key, 0, plaintext)
    const b = await encryptChunk(key, 0, plaintext)
    expect(a.subarray(0, NONCE_BYTES)).not.toEqual(b.subarray(0, NONCE_BYTES))
    expect(a).not.toEqual(b)
  })

  it('writes the format Node\'s crypto wrote (nonce, ciphertext, tag), so stored files stay readable', async () => {
    const { createDecipheriv } = await import('node:crypto')
    const key = generateFileKey()
    const block = await encryptChunk(key, 7, new TextEncoder().encode('same bytes as before'))
    const decipher = createDecipheriv('aes-256-gcm', key, block.subarray(0, NONCE_BYTES), { authTagLength: 16 })
    decipher.setAAD(Buffer.from('meganet-chunk:v1:7'))
    decipher.setAuthTag(block.subarray(block.byteLength - 16))
    const plain = Buffer.concat([decipher.update(block.subarray(NONCE_BYTES, block.byteLength - 16)), decipher.final()])
    expect(plain.toString()).toBe('same bytes as before')
  })

  it('fails clearly with the wrong key', async () => {
    const block = await encryptChunk(generateFileKey(), 3, randomBytes(100))
    await expect(decryptChunk(generateFileKey(), 3, block)).rejects.toThrow(DecryptError)
    await expect(decryptChunk(generateFileKey(), 3, block)).rejects.toThrow('cannot decrypt chunk 3: wrong key or the data was altered')
  })

  it('fails when a block is altered, truncated or moved to another position', async () => {
    const key = generateFileKey()
    const block = await encryptChunk(key, 1, randomBytes(100))
    for (const at of [0, NONCE_BYTES + 5, block.byteLength - 1]) {
      const altered = block.slice()
      altered[at] = (altered[at] ?? 0) ^ 1
      await expect(decryptChunk(key, 1, altered)).rejects.toThrow(/cannot decrypt chunk 1/)
    }
    await expect(decryptChunk(key, 1, block.subarray(0, 10))).rejects.toThrow(DecryptError)
    await expect(decryptChunk(key, 2, block)).rejects.toThrow(/cannot decrypt chunk 2/)
  })

  it('refuses keys of the wrong length', async () => {
    await expect(encryptChunk(new Uint8Array(16), 0, new Uint8Array(1))).rejects.toThrow(RangeError)
  })
})

describe('file details encryption', () => {
  const meta = { name: 'holiday photos.tar', size: 123_456, chunkSize: 65_536 }

  it('round-trips through base64url text', async () => {
    const key = generateFileKey()
    const text = await encryptMeta(key, meta)
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(text).not.toContain('holiday')
    expect(await decryptMeta(key, text)).toEqual(meta)
  })

  it('fails clearly with the wrong key or altered text', async () => {
    const text = await encryptMeta(generateFileKey(), meta)
    await expect(decryptMeta(generateFileKey(), text)).rejects.toThrow('cannot decrypt the file details: wrong key or the data was altered')
    await expect(decryptMeta(generateFileKey(), 'not base64url!')).rejects.toThrow(ManifestError)
  })

  it('is not interchangeable with a chunk', async () => {
    const key = generateFileKey()
    const chunk = Buffer.from(await encryptChunk(key, 0, new TextEncoder().encode(JSON.stringify(meta)))).toString('base64url')
    await expect(decryptMeta(key, chunk)).rejects.toThrow(DecryptError)
  })

  it('refuses malformed details before encrypting them', async () => {
    await expect(encryptMeta(generateFileKey(), { ...meta, size: -1 })).rejects.toThrow()
  })
})
