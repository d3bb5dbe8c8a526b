import { fileMetaSchema } from '@meganet/contracts'
import { fromString as bytesFromString, toString as bytesToString } from 'uint8arrays'
import { sealBlock, openBlock } from './aes-gcm.js'
import { FILE_KEY_BYTES } from './constants.js'
import { ManifestError } from './manifest.js'
import type { FileMeta } from '@meganet/contracts'

/**
 * Client-side encryption of files: AES-256-GCM with one random key per file. A block is
 * nonce ‖ ciphertext ‖ tag. The additional data binds a chunk to its position
 * (`meganet-chunk:v1:<index>`), so chunks cannot be reordered or swapped unnoticed.
 *
 * The cipher is `aes-gcm.ts` (node:crypto) in Node and `aes-gcm.browser.ts` (WebCrypto) in browsers.
 */

const META_AAD = new TextEncoder().encode('meganet-meta:v1')

/** A wrong key, or a block or manifest that was altered after it was encrypted. */
export class DecryptError extends Error {
  override readonly name = 'DecryptError'
}

function chunkAad (index: number): Uint8Array {
  return new TextEncoder().encode(`meganet-chunk:v1:${index}`)
}

function checkedKey (key: Uint8Array): Uint8Array {
  if (key.byteLength !== FILE_KEY_BYTES) throw new RangeError(`a file key is ${FILE_KEY_BYTES} bytes; got ${key.byteLength}`)
  return key
}

/** A fresh random file key. */
export function generateFileKey (): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(FILE_KEY_BYTES))
}

async function seal (key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  return await sealBlock(checkedKey(key), plaintext, aad)
}

/** Returns the plaintext, or undefined when the block does not authenticate. */
async function unseal (key: Uint8Array, block: Uint8Array, aad: Uint8Array): Promise<Uint8Array | undefined> {
  return await openBlock(checkedKey(key), block, aad)
}

/** Chunk `index` (from 0) of a file, as the block to store. */
export async function encryptChunk (key: Uint8Array, index: number, plaintext: Uint8Array): Promise<Uint8Array> {
  return await seal(key, plaintext, chunkAad(index))
}

export async function decryptChunk (key: Uint8Array, index: number, block: Uint8Array): Promise<Uint8Array> {
  const plaintext = await unseal(key, block, chunkAad(index))
  if (plaintext == null) throw new DecryptError(`cannot decrypt chunk ${index}: wrong key or the data was altered`)
  return plaintext
}

/** The manifest's `meta` field: base64url of the sealed JSON. */
export async function encryptMeta (key: Uint8Array, meta: FileMeta): Promise<string> {
  const checked = fileMetaSchema.parse(meta)
  return bytesToString(await seal(key, new TextEncoder().encode(JSON.stringify(checked)), META_AAD), 'base64url')
}

export async function decryptMeta (key: Uint8Array, text: string): Promise<FileMeta> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new ManifestError('the manifest\'s meta field is not base64url')
  const plaintext = await unseal(key, bytesFromString(text, 'base64url'), META_AAD)
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
