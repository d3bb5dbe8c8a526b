import crypto from 'node:crypto'
import { defaultCrypto, pureJsCrypto } from '@chainsafe/libp2p-noise/crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Uint8ArrayList } from 'uint8arraylist'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

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

  it('Noise: a remote key used in two DHs is imported once while the same array or list holds the same bytes', () => {
    const imports = vi.spyOn(crypto, 'createPublicKey')
    const local = defaultCrypto.generateX25519KeyPair()
    const remotes = [pureJsCrypto.generateX25519KeyPair(), pureJsCrypto.generateX25519KeyPair()]
    const shared = remotes.map(remote => bytes(pureJsCrypto.generateX25519SharedKey(remote.privateKey, local.publicKey)))
    // Noise keeps a remote key as a sublist of the message it came in (its own copy of the class).
    const asList = new Uint8ArrayList(remotes[0]!.publicKey) as unknown as Parameters<typeof defaultCrypto.generateX25519SharedKey>[1]
    for (let n = 0; n < 2; n++) expect(bytes(defaultCrypto.generateX25519SharedKey(local.privateKey, asList))).toEqual(shared[0])
    expect(imports).toHaveBeenCalledTimes(1)

    const reused = Uint8Array.from(remotes[0]!.publicKey)
    expect(bytes(defaultCrypto.generateX25519SharedKey(local.privateKey, reused))).toEqual(shared[0])
    reused.set(remotes[1]!.publicKey)
    expect(bytes(defaultCrypto.generateX25519SharedKey(local.privateKey, reused))).toEqual(shared[1])
    expect(imports).toHaveBeenCalledTimes(3)
  })

  it('Noise: a generated key pair is exported once, its public key is the private key\'s, and the private key is in memory of its own', () => {
    const sample = crypto.generateKeyPairSync('x25519')
    const exports = [sample.publicKey, sample.privateKey].map(key => vi.spyOn(Object.getPrototypeOf(key) as crypto.KeyObject, 'export'))
    const pair = defaultCrypto.generateX25519KeyPair()
    expect(exports.reduce((calls, spy) => calls + spy.mock.calls.length, 0)).toBe(1)
    const derived = bytes(pureJsCrypto.generateX25519KeyPairFromSeed(Uint8Array.from(pair.privateKey)).publicKey)
    expect(bytes(pair.publicKey)).toEqual(derived)
    // The private key has memory of its own, not a slice of Node's shared Buffer pool.
    expect(pair.privateKey.buffer.byteLength).toBe(32)
  })

  it('Ed25519: a signature that verified is verified once for the same key and message, and nothing else passes for it', async () => {
    const verifications = vi.spyOn(crypto, 'verify')
    const [one, two] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const message = crypto.randomBytes(200)
    const signature = await one.sign(message)
    for (let n = 0; n < 3; n++) expect(await one.publicKey.verify(Uint8Array.from(message), Uint8Array.from(signature))).toBe(true)
    expect(verifications).toHaveBeenCalledTimes(1)

    const tampered = Uint8Array.from(message)
    tampered[7] = tampered[7]! ^ 1
    expect(await one.publicKey.verify(tampered, signature)).toBe(false)
    expect(await two.publicKey.verify(message, signature)).toBe(false)
    const badSignature = Uint8Array.from(signature)
    badSignature[0] = badSignature[0]! ^ 1
    expect(await one.publicKey.verify(message, badSignature)).toBe(false)
    expect(await one.publicKey.verify(message, signature)).toBe(true)
    expect(verifications).toHaveBeenCalledTimes(4)

    // Large messages are not kept.
    const large = crypto.randomBytes(8192)
    const largeSignature = await one.sign(large)
    for (let n = 0; n < 2; n++) expect(await one.publicKey.verify(large, largeSignature)).toBe(true)
    expect(verifications).toHaveBeenCalledTimes(6)
  })

  it('Ed25519: a public key is imported once for the signatures it verifies', async () => {
    const [one, two] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const imports = vi.spyOn(crypto, 'createPublicKey')
    for (let n = 0; n < 3; n++) {
      const message = crypto.randomBytes(100)
      for (const key of [one, two]) expect(await key.publicKey.verify(message, await key.sign(message))).toBe(true)
      expect(await one.publicKey.verify(message, await two.sign(message))).toBe(false)
    }
    expect(imports).toHaveBeenCalledTimes(2)
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

describe('the third round of handshake patches (patches/README.md, "Key imports without error stacks, one payload signature")', () => {
  const node = loopbackNodes()
  afterEach(() => { vi.restoreAllMocks() })

  it('Noise and Ed25519: a remote key is imported with error stacks off, and the limit is restored, also when the import throws', async () => {
    // Node's import throws and catches two errors to learn that its argument is neither a
    // KeyObject nor a CryptoKey: with Error.stackTraceLimit at 0 they build no stack trace.
    const original = crypto.createPublicKey
    const limits: number[] = []
    let fail = false
    vi.spyOn(crypto, 'createPublicKey').mockImplementation((key: Parameters<typeof crypto.createPublicKey>[0]) => {
      limits.push(Error.stackTraceLimit)
      if (fail) throw new Error('not a key')
      return original(key)
    })
    const before = Error.stackTraceLimit
    const local = defaultCrypto.generateX25519KeyPair()
    const remote = pureJsCrypto.generateX25519KeyPair()
    const shared = bytes(pureJsCrypto.generateX25519SharedKey(remote.privateKey, local.publicKey))
    expect(bytes(defaultCrypto.generateX25519SharedKey(local.privateKey, remote.publicKey))).toEqual(shared)
    const signer = await generateKeyPair('Ed25519')
    const message = crypto.randomBytes(100)
    expect(await signer.publicKey.verify(message, await signer.sign(message))).toBe(true)
    expect(limits).toEqual([0, 0])
    expect(Error.stackTraceLimit).toBe(before)

    fail = true
    expect(() => defaultCrypto.generateX25519SharedKey(local.privateKey, pureJsCrypto.generateX25519KeyPair().publicKey)).toThrow('not a key')
    const other = await generateKeyPair('Ed25519')
    await expect(async () => await other.publicKey.verify(message, await other.sign(message))).rejects.toThrow('not a key')
    expect(limits).toEqual([0, 0, 0, 0])
    expect(Error.stackTraceLimit).toBe(before)
  })

  it('signs its static key once for all the handshakes it answers and starts, and each verifies', async () => {
    const listener = await node()
    const privateKey = (listener as unknown as { components: { privateKey: PrivateKey } }).components.privateKey
    const signs = vi.spyOn(privateKey, 'sign')
    const noiseSignatures = (): number => signs.mock.calls
      .filter(([message]) => Buffer.from(message.subarray()).toString('latin1').startsWith('noise-libp2p-static-key:')).length
    const dial = async (from: Libp2p, to: Libp2p): Promise<void> => { await from.dial(to.getMultiaddrs()[0]!) }
    for (let n = 0; n < 3; n++) await dial(await node(), listener)
    await dial(listener, await node())
    // Unpatched: four, one per handshake. The other side checked each against the listener's key.
    expect(noiseSignatures()).toBe(1)
    expect(listener.getConnections()).toHaveLength(4)
  })
})
