import crypto from 'node:crypto'
import { nodeCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
// Noise's own copy of uint8arraylist may differ from ours: only `subarray()` is needed here.
const bytes = (value: { subarray: () => Uint8Array }): Uint8Array => Uint8Array.from(value.subarray())

describe('the Noise key patch (patches/README.md)', () => {
  afterEach(() => { vi.restoreAllMocks() })

  it('imports each cipher key once, and still seals and opens exactly as ChaCha20-Poly1305 with that key', () => {
    const imports = vi.spyOn(crypto, 'createSecretKey')
    const keys = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]
    const ad = new Uint8Array(0)
    // Above the 1200 bytes from which Noise uses Node's cipher rather than its WebAssembly one.
    const plaintext = crypto.randomBytes(4096)
    for (let n = 0; n < 5; n++) {
      const nonce = new Uint8Array(12)
      nonce[4] = n
      for (const k of keys) {
        const sealed = bytes(nodeCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
        expect(sealed).toEqual(bytes(pureJsCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)))
        expect(bytes(nodeCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k))).toEqual(Uint8Array.from(plaintext))
        const other = keys.find(key => key !== k)!
        expect(() => nodeCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, other)).toThrow()
      }
    }
    expect(imports).toHaveBeenCalledTimes(2)
  })
})
