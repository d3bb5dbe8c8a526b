import { readFile } from 'node:fs/promises'
import { credsAuthenticator, nkeyAuthenticator } from '@nats-io/nats-core'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { NodeConnectionOptions } from '@nats-io/transport-node'

/** Reconnect forever: an anchor outlives any NATS outage and rejoins when NATS returns. */
const RECONNECT_WAIT_MS = 1_000
const RECONNECT_JITTER_MS = 1_000

export type NatsSettings = AnchorConfig['nats']

/** Connection options from the anchor's NATS settings; reads credential files (mounted Secrets). */
export async function natsConnectionOptions (nats: NatsSettings, name: string): Promise<NodeConnectionOptions> {
  const options: NodeConnectionOptions = {
    servers: nats.servers,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: RECONNECT_JITTER_MS,
    pingInterval: 10_000,
    maxPingOut: 3
  }
  if (nats.credsFile != null) options.authenticator = credsAuthenticator(await readFile(nats.credsFile))
  if (nats.nkeySeedFile != null) options.authenticator = nkeyAuthenticator(new TextEncoder().encode((await readFile(nats.nkeySeedFile, 'utf8')).trim()))
  if (nats.user != null) {
    options.user = nats.user
    if (nats.password != null) options.pass = nats.password
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
