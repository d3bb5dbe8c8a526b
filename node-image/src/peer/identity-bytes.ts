import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A peer's identity as bytes an app can keep (a page in localStorage, an app in its keystore),
 * so its PeerId survives restarts: libp2p's protobuf encoding of an Ed25519 private key.
 */
export async function generateIdentity (): Promise<PrivateKey> {
  return await generateKeyPair('Ed25519')
}

export function identityToBytes (key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key)
}

export function identityFromBytes (bytes: Uint8Array): PrivateKey {
  return privateKeyFromProtobuf(bytes)
}
