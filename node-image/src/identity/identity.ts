import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export class IdentityError extends Error {
  override readonly name = 'IdentityError'
}

function isNotFound (err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT'
}

async function readKey (file: string): Promise<PrivateKey> {
  const bytes = await readFile(file)
  try {
    const key = privateKeyFromProtobuf(bytes)
    if (key.type !== 'Ed25519') throw new Error(`key type is ${key.type}`)
    return key
  } catch (err) {
    throw new IdentityError(`${file} is not an Ed25519 libp2p private key (protobuf bytes): ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Loads the Ed25519 identity from `file`, creating it (mode 0600) on first start when
 * `create` is set. A given key file (a mounted Secret) must exist: a missing one is an error,
 * never a silently new identity.
 */
export async function loadOrCreateIdentity (file: string, options: { create: boolean }): Promise<{ key: PrivateKey, created: boolean }> {
  try {
    return { key: await readKey(file), created: false }
  } catch (err) {
    if (!isNotFound(err)) throw err
    if (!options.create) throw new IdentityError(`identity file ${file} does not exist`, { cause: err })
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  // 'wx' refuses to overwrite a key another process wrote in the meantime.
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  await chmod(file, 0o600)
  return { key, created: true }
}
