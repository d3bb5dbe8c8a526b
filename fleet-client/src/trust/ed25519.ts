import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import type { KeyObject } from 'node:crypto'

/**
 * Ed25519 keys as libp2p names them, with nothing but node:crypto and multiformats: a PeerId
 * (`12D3KooW…`) is the identity multihash of the protobuf public key, so it carries the key
 * itself and a signature can be checked against the PeerId alone. No libp2p here, so the
 * operator and tools can verify what anchors sign.
 */

/** Identity multihash (0x00), length 36, protobuf { Type: Ed25519 (1), Data: 32 bytes }. */
const PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20)
/** Protobuf { Type: Ed25519 (1), Data: 64 bytes (seed ‖ public key) }: a libp2p identity file. */
const PRIVATE_KEY_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x40)
const LIBP2P_KEY_CODEC = 0x72

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.byteLength >= prefix.byteLength && prefix.every((b, i) => bytes[i] === b)
}

/** Anything that signs like a libp2p private key (a libp2p `PrivateKey` is one). */
export interface SigningKey {
  readonly publicKey: { toString: () => string }
  sign: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

const publicKeys = new Map<string, KeyObject>()
const MAX_CACHED_KEYS = 4096

/** The raw 32-byte Ed25519 public key inside a PeerId, or undefined when it holds none. */
export function ed25519KeyOfPeerId (peerId: string): Uint8Array | undefined {
  let multihash: Uint8Array
  try {
    if (peerId.startsWith('1') || peerId.startsWith('Q')) multihash = base58btc.baseDecode(peerId)
    else {
      const cid = CID.parse(peerId)
      if (cid.code !== LIBP2P_KEY_CODEC) return undefined
      multihash = cid.multihash.bytes
    }
  } catch {
    return undefined
  }
  if (multihash.byteLength !== PEER_ID_PREFIX.byteLength + 32 || !startsWith(multihash, PEER_ID_PREFIX)) return undefined
  return multihash.subarray(PEER_ID_PREFIX.byteLength)
}

/** The PeerId of a raw Ed25519 public key. */
export function peerIdOfEd25519Key (raw: Uint8Array): string {
  return base58btc.baseEncode(Uint8Array.from([...PEER_ID_PREFIX, ...raw]))
}

function publicKeyObject (peerId: string): KeyObject | undefined {
  const cached = publicKeys.get(peerId)
  if (cached != null) return cached
  const raw = ed25519KeyOfPeerId(peerId)
  if (raw == null) return undefined
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
  if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear()
  publicKeys.set(peerId, key)
  return key
}

/** True when `signature` is `peerId`'s Ed25519 signature of `data`; false for anything else, never a throw. */
export function verifyWithPeerId (peerId: string, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== 64) return false
  const key = publicKeyObject(peerId)
  if (key == null) return false
  try {
    return cryptoVerify(null, data, key, signature)
  } catch {
    return false
  }
}

/** A signing key from a 32-byte Ed25519 seed. */
export function signingKeyFromSeed (seed: Uint8Array): SigningKey {
  const key = createPrivateKey({ key: ed25519Pkcs8(seed), format: 'der', type: 'pkcs8' })
  const jwk = createPublicKey(key).export({ format: 'jwk' })
  const id = peerIdOfEd25519Key(Buffer.from(jwk.x ?? '', 'base64url'))
  return {
    publicKey: { toString: () => id },
    sign: (data: Uint8Array) => new Uint8Array(cryptoSign(null, data, key))
  }
}

/** A signing key from a libp2p protobuf private key (an identity file), or undefined when it is not Ed25519. */
export function signingKeyFromProtobuf (bytes: Uint8Array): SigningKey | undefined {
  if (bytes.byteLength !== PRIVATE_KEY_PREFIX.byteLength + 64 || !startsWith(bytes, PRIVATE_KEY_PREFIX)) return undefined
  return signingKeyFromSeed(bytes.subarray(PRIVATE_KEY_PREFIX.byteLength, PRIVATE_KEY_PREFIX.byteLength + 32))
}

/** PKCS#8 DER of an Ed25519 seed (RFC 8410): a fixed 16-byte header, then the seed. */
function ed25519Pkcs8 (seed: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
}
