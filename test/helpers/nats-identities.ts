import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { nkeyAuthenticator } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { natsUserSeed } from '../../fleet-client/src/index.js'
import type { NatsConnection } from '@nats-io/nats-core'

/** An anchor identity for NATS tests: its PeerId, its key's 32-byte seed, and its key file. */
export interface Identity {
  readonly peerId: string
  readonly seed: Uint8Array
  readonly file: string
}

/** A fresh Ed25519 identity, its key written to `<dir>/<name>.key` as `meganet anchor` reads it. */
export async function identity (dir: string, name: string): Promise<Identity> {
  const key = await generateKeyPair('Ed25519')
  const file = join(dir, `${name}.key`)
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 })
  return { peerId: peerIdFromPrivateKey(key).toString(), seed: key.raw.subarray(0, 32), file }
}

/** A NATS client holding an anchor's (or the operator's) key as its nkey, as a thief of it would. */
export async function clientAs (url: string, seed: Uint8Array, inboxPrefix: string): Promise<NatsConnection> {
  return await connect({ servers: url, authenticator: nkeyAuthenticator(new TextEncoder().encode(natsUserSeed(seed))), inboxPrefix, maxReconnectAttempts: 0 })
}

/** Errors the server sent this connection (permission violations arrive asynchronously). */
export function violations (nc: NatsConnection): string[] {
  const seen: string[] = []
  void (async () => { for await (const status of nc.status()) if (status.type === 'error') seen.push(String(status.error)) })()
  return seen
}
