import { readFile } from 'node:fs/promises'
import { anchorInboxPrefix, natsUserSeed } from '@meganet/fleet-client'
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/nats-core'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { NodeConnectionOptions } from '@nats-io/transport-node'

/** Reconnect forever: an anchor outlives any NATS outage and rejoins when NATS returns. */
const RECONNECT_WAIT_MS = 1_000
const RECONNECT_JITTER_MS = 1_000

export type NatsSettings = AnchorConfig['nats']

/** A NATS credentials file or URL the anchor cannot use: the start stops with this one line. */
export class NatsCredentialsError extends Error {
  override readonly name = 'NatsCredentialsError'
}

/** A server URL with any `user:password@` removed: what /status, metrics and logs may show. */
export function redactNatsUrl (url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1')
}

/** `user:password@` (or a token alone) from the server URLs; nats.js would ignore them. */
function credentialsInUrls (servers: readonly string[]): { user?: string, pass?: string, token?: string } {
  for (const server of servers) {
    const userinfo = /^[a-z]+:\/\/([^@/]*)@/i.exec(server)?.[1]
    if (userinfo == null) continue
    const split = userinfo.indexOf(':')
    const decode = (text: string): string => { try { return decodeURIComponent(text) } catch { return text } }
    if (split < 0) return { token: decode(userinfo) }
    return { user: decode(userinfo.slice(0, split)), pass: decode(userinfo.slice(split + 1)) }
  }
  return {}
}

async function readCredentialFile (what: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new NatsCredentialsError(`cannot read the NATS ${what} ${file}: ${code === 'ENOENT' ? 'no such file (is its Secret mounted?)' : code ?? (err as Error).message}`, { cause: err })
  }
}

/**
 * Reads every credential file the settings name, so a missing or unreadable one stops the start
 * with one clear line instead of a connection retried forever.
 */
export async function checkNatsCredentials (nats: NatsSettings): Promise<void> {
  if (nats.credsFile != null) {
    const text = (await readCredentialFile('credentials file', nats.credsFile)).toString('utf8')
    if (!text.includes('-----BEGIN NATS USER JWT-----') || !/SU[A-Z2-7]{50,}/.test(text)) {
      throw new NatsCredentialsError(`the NATS credentials file ${nats.credsFile} holds no user JWT and nkey seed (expected the output of nsc or the chart's Secret)`)
    }
  }
  if (nats.nkeySeedFile != null) {
    const text = (await readCredentialFile('nkey seed file', nats.nkeySeedFile)).toString('utf8').trim()
    if (!/^SU[A-Z2-7]{50,}$/.test(text)) throw new NatsCredentialsError(`the NATS nkey seed file ${nats.nkeySeedFile} holds no user seed (SU…)`)
  }
  for (const file of [nats.tls.caFile, nats.tls.certFile, nats.tls.keyFile]) {
    if (file != null) await readCredentialFile('TLS file', file)
  }
}

/** Who connects: the anchor's PeerId (its inbox) and, for `identityNkey`, its key's 32-byte seed. */
export interface NatsIdentity {
  readonly peerId: string
  readonly seed: Uint8Array
}

/** Connection options from the anchor's NATS settings; reads credential files (mounted Secrets). */
export async function natsConnectionOptions (nats: NatsSettings, name: string, identity: NatsIdentity): Promise<NodeConnectionOptions> {
  const options: NodeConnectionOptions = {
    servers: nats.servers.map(redactNatsUrl),
    name,
    // Replies come to the anchor's own inbox, so its permissions need allow no wider subscription.
    inboxPrefix: anchorInboxPrefix(identity.peerId),
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: RECONNECT_JITTER_MS,
    pingInterval: 10_000,
    maxPingOut: 3
  }
  if (nats.credsFile != null) options.authenticator = credsAuthenticator(await readCredentialFile('credentials file', nats.credsFile))
  if (nats.nkeySeedFile != null) options.authenticator = nkeyAuthenticator(new TextEncoder().encode((await readCredentialFile('nkey seed file', nats.nkeySeedFile)).toString('utf8').trim()))
  if (nats.identityNkey) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(natsUserSeed(identity.seed)))
  const fromUrl = credentialsInUrls(nats.servers)
  if (nats.user != null) {
    options.user = nats.user
    if (nats.password != null) options.pass = nats.password
  } else if (options.authenticator == null) {
    if (fromUrl.user != null) options.user = fromUrl.user
    if (fromUrl.pass != null) options.pass = fromUrl.pass
    if (fromUrl.token != null) options.token = fromUrl.token
  }
  if (nats.tls.caFile != null || nats.tls.certFile != null) {
    options.tls = {
      ...(nats.tls.caFile != null ? { caFile: nats.tls.caFile } : {}),
      ...(nats.tls.certFile != null ? { certFile: nats.tls.certFile } : {}),
      ...(nats.tls.keyFile != null ? { keyFile: nats.tls.keyFile } : {})
    }
  }
  return options
}
