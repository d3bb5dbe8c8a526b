import { setTimeout as delay } from 'node:timers/promises'
import { OPERATOR_INBOX_PREFIX, natsKeyAuthenticator } from '@meganet/fleet-client'
import { connect } from '@nats-io/transport-node'
import { apiErrorMessage } from '../kube/kube-client.js'
import { AuthCallout } from './auth-callout.js'
import { publishNatsAuthConfig } from './auth-config.js'
import { recordPodIdentity } from './pod-identity.js'
import type { FleetOfAddress, PodRef } from './admission.js'
import type { Kube } from '../kube/kube-client.js'
import type { SigningKey } from '@meganet/fleet-client'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Counter } from 'prom-client'
import type { Logger } from 'pino'

const PUBLISH_RETRY_MS = 5_000

export interface NatsAuthInit {
  readonly key: SigningKey
  /** The NATS whose logins the operator decides; none: it decides none. */
  readonly servers?: string
  /** CA bundle that verifies those servers (TLS). */
  readonly caFile?: string
  /** Where to write that NATS's auth config; none: someone else configures it. */
  readonly configMap?: { readonly namespace: string, readonly name: string }
  readonly kube: Kube
  readonly logins: Counter<'outcome'>
  readonly log: Logger
}

/**
 * The operator's part in locking NATS down: it writes the server's auth config (every replica,
 * at start, so the NATS pods that wait for it can start) and, while it leads, answers the
 * server's auth callout. Its own connection logs in with the command key.
 */
export class NatsAuth {
  private readonly init: NatsAuthInit
  private connection?: Promise<NatsConnection>
  private callout?: AuthCallout
  private serving?: FleetOfAddress
  private closed = false

  constructor (init: NatsAuthInit) {
    this.init = init
  }

  start (): void {
    const { configMap, servers, key, log } = this.init
    if (configMap != null) void this.publish(configMap)
    if (servers == null) return
    this.connection = connect({
      servers: servers.split(',').map(s => s.trim()),
      name: 'meganet-operator-auth',
      inboxPrefix: OPERATOR_INBOX_PREFIX,
      authenticator: natsKeyAuthenticator(key),
      // The chart's NATS starts only once the config above exists: wait for it, however long.
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      ...(this.init.caFile != null ? { tls: { caFile: this.init.caFile } } : {})
    })
    this.connection.then(nc => {
      log.info({ servers }, 'connected to NATS to decide its logins')
      if (this.serving != null) this.listen(nc, this.serving)
    }, (err: unknown) => { log.error({ err: (err as Error).message }, 'cannot connect to NATS to decide its logins') })
  }

  /** Starts answering logins (the leader, whose caches know the fleets' pods). */
  serve (fleetOfAddress: FleetOfAddress): void {
    this.serving = fleetOfAddress
    void this.connection?.then(nc => { if (this.serving === fleetOfAddress) this.listen(nc, fleetOfAddress) }, () => {})
  }

  /** Stops answering (leadership lost): the new leader answers. */
  standDown (): void {
    this.serving = undefined
    this.callout?.stop()
    this.callout = undefined
  }

  async close (): Promise<void> {
    this.closed = true
    this.standDown()
    const nc = this.connection
    this.connection = undefined
    await (await nc?.catch(() => undefined))?.close().catch(() => {})
  }

  private listen (connection: NatsConnection, fleetOfAddress: FleetOfAddress): void {
    if (this.callout != null || this.closed) return
    const { key, logins, log } = this.init
    const recordBinding = async (pod: PodRef, peerId: string): Promise<void> => { await recordPodIdentity(this.init.kube, pod, peerId) }
    this.callout = new AuthCallout({ connection, key, fleetOfAddress, logins, log, recordBinding })
    log.info('deciding NATS logins (auth callout)')
  }

  private async publish (target: { namespace: string, name: string }): Promise<void> {
    const { kube, key, log } = this.init
    while (!this.closed) {
      try {
        await publishNatsAuthConfig(kube, target, key)
        log.info({ configMap: `${target.namespace}/${target.name}` }, 'wrote the NATS auth config')
        return
      } catch (err) {
        log.error({ configMap: `${target.namespace}/${target.name}`, err: apiErrorMessage(err), retryInMs: PUBLISH_RETRY_MS }, 'cannot write the NATS auth config; NATS cannot start without it')
        await delay(PUBLISH_RETRY_MS, undefined, { ref: false })
      }
    }
  }
}
