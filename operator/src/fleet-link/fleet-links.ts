import { readFile } from 'node:fs/promises'
import { credsAuthenticator } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { FleetClient, OPERATOR_INBOX_PREFIX, ensureFleetBuckets, natsKeyAuthenticator } from '@meganet/fleet-client'
import type { SigningKey } from '@meganet/fleet-client'
import type { FleetScope } from '@meganet/contracts'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Logger } from 'pino'

const CONNECT_TIMEOUT_MS = 5_000
const BUCKET_CHECK_MS = 5 * 60_000

/**
 * The operator's NATS connections, one per server list that fleets name, opened on first use
 * and kept (nats.js reconnects them). A fleet without NATS has no link: the operator then
 * cannot drain or autoscale it and says so in its status.
 */
export class FleetLinks {
  private readonly connections = new Map<string, Promise<NatsConnection>>()
  /** When each fleet's buckets were last made sure of, by `servers scope`. */
  private readonly bucketsMade = new Map<string, number>()
  private readonly credsFile?: string
  private readonly commandKey?: SigningKey
  private readonly caFile?: string
  private readonly log: Logger

  constructor (log: Logger, options: { credsFile?: string, commandKey?: SigningKey, caFile?: string } = {}) {
    this.log = log
    if (options.credsFile != null) this.credsFile = options.credsFile
    if (options.commandKey != null) this.commandKey = options.commandKey
    if (options.caFile != null) this.caFile = options.caFile
  }

  async client (servers: string, scope: FleetScope): Promise<FleetClient> {
    let connection = this.connections.get(servers)
    if (connection == null) {
      connection = this.connect(servers)
      this.connections.set(servers, connection)
      connection.catch(() => { this.connections.delete(servers) })
    }
    const nc = await connection
    await this.ensureBuckets(nc, servers, scope)
    return new FleetClient(nc, scope, this.commandKey != null ? { commandKey: this.commandKey } : {})
  }

  /**
   * Creates the fleet's buckets, at most once per BUCKET_CHECK_MS for each NATS and fleet: on a
   * locked-down NATS anchors may not create streams (whoever creates one decides its subjects),
   * so they open what this made. A failure is logged and tried again on the next reconcile; an
   * open NATS lets anchors create them.
   */
  private async ensureBuckets (nc: NatsConnection, servers: string, scope: FleetScope): Promise<void> {
    const key = `${servers} ${scope.region}/${scope.fleet}`
    // Checked again now and then: a NATS that lost its streams (a wiped volume) gets them back.
    if (Date.now() - (this.bucketsMade.get(key) ?? -Infinity) < BUCKET_CHECK_MS) return
    try {
      await ensureFleetBuckets(nc, scope)
      this.bucketsMade.set(key, Date.now())
    } catch (err) {
      this.log.warn({ servers, fleet: `${scope.region}/${scope.fleet}`, err: (err as Error).message }, 'cannot create the fleet\'s NATS buckets; its anchors wait for them on a locked-down NATS')
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.connections.values()].map(async c => await (await c).close().catch(() => {})))
  }

  private async connect (servers: string): Promise<NatsConnection> {
    const nc = await connect({
      servers: servers.split(',').map(s => s.trim()),
      name: 'meganet-operator',
      // Its own inbox: NATS permissions then need grant it no wider subscription.
      inboxPrefix: OPERATOR_INBOX_PREFIX,
      timeout: CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      ...(this.caFile != null ? { tls: { caFile: this.caFile } } : {}),
      // A creds file if given; else the command key as an nkey, the user a locked-down NATS knows.
      ...(this.credsFile != null
        ? { authenticator: credsAuthenticator(await readFile(this.credsFile)) }
        : this.commandKey != null ? { authenticator: natsKeyAuthenticator(this.commandKey) } : {})
    })
    this.log.info({ servers }, 'connected to NATS')
    return nc
  }
}
