import { createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { signingKeyFromProtobuf, signingKeyFromSeed } from './ed25519.js'
import type { SigningKey } from './ed25519.js'

export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError'
}

/**
 * Loads an Ed25519 signing key (the operator's command key, a grant key) from a file: PKCS#8
 * PEM (what `openssl genpkey -algorithm ed25519` and Helm's `genPrivateKey "ed25519"` write) or
 * libp2p protobuf bytes (an identity file). The error names the file, never its content.
 */
export async function loadSigningKey (file: string): Promise<SigningKey> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    throw new SigningKeyError(`cannot read signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  if (bytes.toString('latin1').includes('-----BEGIN')) {
    let jwk
    try {
      jwk = createPrivateKey(bytes.toString('utf8')).export({ format: 'jwk' })
    } catch (err) {
      throw new SigningKeyError(`${file} is not a PEM private key: ${(err as Error).message}`, { cause: err })
    }
    if (jwk.crv !== 'Ed25519' || jwk.d == null) throw new SigningKeyError(`${file} is not an Ed25519 private key (it is ${jwk.crv ?? jwk.kty ?? 'another kind'})`)
    return signingKeyFromSeed(Buffer.from(jwk.d, 'base64url'))
  }
  const key = signingKeyFromProtobuf(bytes)
  if (key == null) throw new SigningKeyError(`${file} is not an Ed25519 private key: neither PKCS#8 PEM nor a libp2p protobuf key`)
  return key
}
