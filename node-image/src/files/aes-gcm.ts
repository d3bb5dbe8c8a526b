import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto'
import { NONCE_BYTES, TAG_BYTES } from './constants.js'

/**
 * Node: AES-256-GCM sealed blocks (nonce ‖ ciphertext ‖ tag) with `node:crypto`. The same bytes
 * as `aes-gcm.browser.ts` (WebCrypto), which bundlers for browsers take instead (package.json
 * "browser" field). WebCrypto in Node copies the input into a job and runs it on the thread pool:
 * about three times the CPU per MiB of a cipher called in place. The work is synchronous; the
 * functions return promises to match WebCrypto's.
 */

/** A fresh random nonce, then the ciphertext and tag of `plaintext` under `key` with `aad`. */
export async function sealBlock (key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  return await new Promise(resolve => { resolve(seal(key, plaintext, aad)) })
}

function seal (key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const block = new Uint8Array(NONCE_BYTES + plaintext.byteLength + TAG_BYTES)
  const nonce = randomFillSync(block.subarray(0, NONCE_BYTES))
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const body = cipher.update(plaintext)
  block.set(body, NONCE_BYTES)
  block.set(cipher.final(), NONCE_BYTES + body.byteLength) // empty for GCM: update returns every byte
  block.set(cipher.getAuthTag(), NONCE_BYTES + plaintext.byteLength)
  return block
}

/** The plaintext of a sealed block, or undefined when it does not authenticate under `key` and `aad`. */
export async function openBlock (key: Uint8Array, block: Uint8Array, aad: Uint8Array): Promise<Uint8Array | undefined> {
  return await new Promise(resolve => { resolve(open(key, block, aad)) })
}

function open (key: Uint8Array, block: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
  if (block.byteLength < NONCE_BYTES + TAG_BYTES) return undefined
  const tagAt = block.byteLength - TAG_BYTES
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, block.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(block.subarray(tagAt))
    const plaintext = decipher.update(block.subarray(NONCE_BYTES, tagAt))
    const rest = decipher.final()
    return rest.byteLength === 0 ? plaintext : Buffer.concat([plaintext, rest])
  } catch {
    return undefined
  }
}
