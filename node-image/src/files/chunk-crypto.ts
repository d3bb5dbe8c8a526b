import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { fileMetaSchema } from '@meganet/contracts'
import { BLOCK_OVERHEAD_BYTES, FILE_KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './constants.js'
import { ManifestError } from './manifest.js'
import type { FileMeta } from '@meganet/contracts'

/**
 * Client-side encryption of files: AES-256-GCM with one random key per file. A block is
 * nonce ‖ ciphertext ‖ tag. The additional data binds a chunk to its position
 * (`meganet-chunk:v1:<index>`), so chunks cannot be reordered or swapped unnoticed.
 */

const CIPHER = 'aes-256-gcm'
const META_AAD = Buffer.from('meganet-meta:v1')

/** A wrong key, or a block or manifest that was altered after it was encrypted. */
export class DecryptError extends Error {
  override readonly name = 'DecryptError'
}

function chunkAad (index: number): Buffer {
  return Buffer.from(`meganet-chunk:v1:${index}`)
}

function checkKey (key: Uint8Array): void {
  if (key.byteLength !== FILE_KEY_BYTES) throw new RangeError(`a file key is ${FILE_KEY_BYTES} bytes; got ${key.byteLength}`)
}

/** A fresh random file key. */
export function generateFileKey (): Uint8Array {
  return new Uint8Array(randomBytes(FILE_KEY_BYTES))
}

function seal (key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(key)
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const body = cipher.update(plaintext)
  const rest = cipher.final()
  return new Uint8Array(Buffer.concat([nonce, body, rest, cipher.getAuthTag()], plaintext.byteLength + BLOCK_OVERHEAD_BYTES))
}

/** Returns the plaintext, or undefined when the block does not authenticate. */
function unseal (key: Uint8Array, block: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  checkKey(key)
  if (block.byteLength < BLOCK_OVERHEAD_BYTES) return undefined
  const nonce = block.subarray(0, NONCE_BYTES)
  const tag = block.subarray(block.byteLength - TAG_BYTES)
  const decipher = createDecipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(tag)
  const body = decipher.update(block.subarray(NONCE_BYTES, block.byteLength - TAG_BYTES))
  try {
    return new Uint8Array(Buffer.concat([body, decipher.final()]))
  } catch {
    return undefined
  }
}

/** Chunk `index` (from 0) of a file, as the block to store. */
export function encryptChunk (key: Uint8Array, index: number, plaintext: Uint8Array): Uint8Array {
  return seal(key, plaintext, chunkAad(index))
}

export function decryptChunk (key: Uint8Array, index: number, block: Uint8Array): Uint8Array {
  const plaintext = unseal(key, block, chunkAad(index))
  if (plaintext == null) throw new DecryptError(`cannot decrypt chunk ${index}: wrong key or the data was altered`)
  return plaintext
}

/** The manifest's `meta` field: base64url of the sealed JSON. */
export function encryptMeta (key: Uint8Array, meta: FileMeta): string {
  const checked = fileMetaSchema.parse(meta)
  return Buffer.from(seal(key, new TextEncoder().encode(JSON.stringify(checked)), META_AAD)).toString('base64url')
}

export function decryptMeta (key: Uint8Array, text: string): FileMeta {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new ManifestError('the manifest\'s meta field is not base64url')
  const plaintext = unseal(key, Buffer.from(text, 'base64url'), META_AAD)
  if (plaintext == null) throw new DecryptError('cannot decrypt the file details: wrong key or the data was altered')
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext))
  } catch (err) {
    throw new ManifestError('the file details are not UTF-8 JSON', { cause: err })
  }
  const parsed = fileMetaSchema.safeParse(value)
  if (!parsed.success) throw new ManifestError(`the file details are malformed: ${parsed.error.issues[0]?.message ?? ''}`)
  return parsed.data
}
