import { NONCE_BYTES, TAG_BYTES } from './constants.js'

/**
 * Browsers: AES-256-GCM sealed blocks (nonce ‖ ciphertext ‖ tag) with WebCrypto. The same bytes
 * as `aes-gcm.ts`, which Node uses (package.json "browser" field).
 */

type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** Imported keys, so a file's chunks do not each import the same raw key. */
const imported = new WeakMap<Uint8Array, Promise<AesKey>>()

async function aesKey (key: Uint8Array): Promise<AesKey> {
  let found = imported.get(key)
  if (found == null) {
    found = crypto.subtle.importKey('raw', new Uint8Array(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt'])
    imported.set(key, found)
  }
  return await found
}

/** A fresh random nonce, then the ciphertext and tag of `plaintext` under `key` with `aad`. */
export async function sealBlock (key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await aesKey(key)
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
    cryptoKey, plaintext)
  const block = new Uint8Array(NONCE_BYTES + sealed.byteLength)
  block.set(nonce, 0)
  block.set(new Uint8Array(sealed), NONCE_BYTES)
  return block
}

/** The plaintext of a sealed block, or undefined when it does not authenticate under `key` and `aad`. */
export async function openBlock (key: Uint8Array, block: Uint8Array, aad: Uint8Array): Promise<Uint8Array | undefined> {
  if (block.byteLength < NONCE_BYTES + TAG_BYTES) return undefined
  const cryptoKey = await aesKey(key)
  try {
    const plaintext = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: block.subarray(0, NONCE_BYTES) as Uint8Array<ArrayBuffer>, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
      cryptoKey, block.subarray(NONCE_BYTES))
    return new Uint8Array(plaintext)
  } catch {
    return undefined
  }
}
