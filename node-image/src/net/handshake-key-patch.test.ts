import crypto from 'node:crypto'
import { defaultCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Uint8ArrayList } from 'uint8arraylist'

const bytes = (value: Uint8Array | Uint8ArrayList): Uint8Array => Uint8Array.from(value.subarray())

describe('the handshake key patches (patches/README.md, "Per-join costs")', () => {
  afterEach(() => { vi.restoreAllMocks() })

  it('Noise: a generated X25519 key is never imported again, and a key from bytes once, whatever the number of DHs', () => {
    const imports = vi.spyOn(crypto, 'createPrivateKey')
    const local = defaultCrypto.generateX25519KeyPair()
    const remote = pureJsCrypto.generateX25519KeyPair()
    const shared = bytes(pureJsCrypto.generateX25519SharedKey(remote.privateKey, local.publicKey))
    for (let n = 0; n < 3; n++) expect(bytes(defaultCrypto.generateX25519SharedKey(local.privateKey, remote.publicKey))).toEqual(shared)
    expect(imports).not.toHaveBeenCalled()

    const fromBytes = Uint8Array.from(local.privateKey)
    for (let n = 0; n < 3; n++) expect(bytes(defaultCrypto.generateX25519SharedKey(fromBytes, remote.publicKey))).toEqual(shared)
    expect(imports).toHaveBeenCalledTimes(1)
  })

  it('Ed25519: a private key is imported once for any number of signatures, which verify as before', async () => {
    const imports = vi.spyOn(crypto, 'createPrivateKey')
    const [one, two] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const message = crypto.randomBytes(100)
    for (let n = 0; n < 3; n++) {
      for (const key of [one, two]) {
        const signature = await key.sign(message)
        expect(await key.publicKey.verify(message, signature)).toBe(true)
        expect(await (key === one ? two : one).publicKey.verify(message, signature)).toBe(false)
      }
    }
    expect(imports).toHaveBeenCalledTimes(2)
  })
})
