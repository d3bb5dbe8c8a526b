import { Kvm } from '@nats-io/kv'
import { TypedEventEmitter } from 'main-event'
import { connect } from '@nats-io/transport-node'
import { commandSubject, encodePayload, fleetBuckets, membersBucket } from '@meganet/contracts'
import { MemberView, ReplayGuard, createBucket, signMemberRecord, verifyCommand, verifyMemberRecord } from '@meganet/fleet-client'
import { natsConnectionOptions, redactNatsUrl } from './nats-options.js'
import { PeerDirectory } from './peer-directory.js'
import type { NatsSettings } from './nats-options.js'
import type { SigningKey } from '@meganet/fleet-client'
import type { Logger } from '../logging/logger.js'
import type { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import type { AnchorCommand, CommandReply, FleetScope, MemberRecord } from '@meganet/contracts'
import type { KV } from '@nats-io/kv'
import type { NatsConnection, Subscription } from '@nats-io/nats-core'
import type { NodeConnectionOptions } from '@nats-io/transport-node'

export const COORDINATION_STATES = ['disabled', 'connecting', 'connected', 'disconnected', 'closed'] as const
export type CoordinationState = (typeof COORDINATION_STATES)[number]

/** What the coordinator needs to know, and nothing more of the anchor's configuration. */
export interface CoordinatorInit {
  /** The anchor's PeerId: the key of its membership record and its command subject. */
  readonly peerId: string
  readonly scope: FleetScope
  readonly nats: NatsSettings
  readonly heartbeatMs: number
  /** A record not rewritten for this long is gone. */
  readonly memberTtlMs: number
  /** JetStream replicas of the coordination buckets. */
  readonly replicas: number
  /** How long a peer directory entry outlives its last write (a reservation's TTL). */
  readonly reservationTtlMs: number
  /** PeerIds of the operator keys whose signed commands this anchor obeys; empty obeys none. */
  readonly operatorKeys: readonly string[]
}

/** What the coordinator asks of its anchor. */
export interface CoordinatedMember {
  /** The anchor's membership record as of now. */
  memberRecord: () => Promise<MemberRecord>
  /** Carries out drain / undrain; status needs nothing. */
  command: (command: AnchorCommand) => Promise<void>
}

/** How the coordinator reaches NATS and its KV buckets: the real client unless a unit test gives an in-memory one. */
export interface NatsLink {
  readonly connect: (options: NodeConnectionOptions) => Promise<NatsConnection>
  readonly buckets: (nc: NatsConnection) => Pick<Kvm, 'create' | 'open'>
}

const NATS: NatsLink = { connect, buckets: nc => new Kvm(nc) }

export interface CoordinatorComponents {
  readonly member: CoordinatedMember
  /** The anchor's own key (its PeerId's): membership records and directory entries are signed with it. */
  readonly key: SigningKey
  /** The same key's 32-byte Ed25519 seed: its NATS nkey when `nats.identityNkey` is set. */
  readonly seed: Uint8Array
  readonly metrics: CoordinationMetrics
  readonly log: Logger
  /** @default the nats.js client */
  readonly nats?: NatsLink
}

export interface CoordinatorEvents {
  /** The live member list changed (the anchor dials new fellow anchors, storage repairs). */
  members: CustomEvent<readonly MemberRecord[]>
}

export interface CoordinationStatus {
  readonly state: CoordinationState
  readonly servers: readonly string[]
  readonly members: number
  readonly heartbeatAgeSeconds: number | null
  readonly lastError: string | null
}

const SETUP_RETRY_MS = 2_000
const FIRST_CONNECT_RETRY_MAX_MS = 10_000
/** Other fleets' membership buckets kept open for directory checks. */
const MAX_FOREIGN_BUCKETS = 32

/**
 * An anchor's link to its fleet over NATS: writes its membership record on a heartbeat, watches
 * the fleet's members, answers commands, and keeps the peer directory. The anchor serves peers
 * whatever happens here: while NATS is down this only reports `disconnected` and retries.
 */
export class Coordinator extends TypedEventEmitter<CoordinatorEvents> {
  private readonly init: CoordinatorInit
  private readonly member: CoordinatedMember
  private readonly key: SigningKey
  private readonly seed: Uint8Array
  private readonly nats: NatsLink
  private readonly trustedOperators: ReadonlySet<string>
  private readonly replay = new ReplayGuard()
  private readonly foreignBuckets = new Map<string, Promise<KV>>()
  private readonly metrics: CoordinationMetrics
  private readonly log: Logger
  private readonly scope: FleetScope
  private readonly view: MemberView
  private nc?: NatsConnection
  private membersKv?: KV
  private directoryKv?: PeerDirectory
  private subscription?: Subscription
  private watchStop?: () => void
  private heartbeatTimer?: NodeJS.Timeout
  private lastHeartbeatAt?: number
  /** When the watch last delivered this anchor's own record: proof that the watch is alive. */
  private lastEchoAt = 0
  private rewatching = false
  private state: CoordinationState = 'connecting'
  private lastError: string | null = null
  private stopped = false

  constructor (init: CoordinatorInit, components: CoordinatorComponents) {
    super()
    this.init = init
    this.member = components.member
    this.key = components.key
    this.seed = components.seed
    this.nats = components.nats ?? NATS
    this.trustedOperators = new Set(init.operatorKeys)
    this.metrics = components.metrics
    this.log = components.log.child({ component: 'coordination' })
    this.scope = init.scope
    this.view = new MemberView(init.memberTtlMs, init.scope)
    this.metrics.bindHeartbeatAge(() => this.heartbeatAgeSeconds())
  }

  /** Starts connecting in the background; never throws and never blocks the anchor. */
  start (): void {
    void this.connectLoop()
  }

  status (): CoordinationStatus {
    return {
      state: this.state,
      servers: this.init.nats.servers.map(redactNatsUrl),
      members: this.view.size,
      heartbeatAgeSeconds: this.heartbeatAgeSeconds(),
      lastError: this.lastError
    }
  }

  members (): MemberRecord[] {
    return this.view.list()
  }

  get directory (): PeerDirectory | undefined {
    return this.state === 'connected' ? this.directoryKv : undefined
  }

  /** Writes the membership record now (phase changes should not wait for the next beat). */
  async heartbeat (): Promise<void> {
    const kv = this.membersKv
    if (kv == null || this.state !== 'connected') return
    try {
      const record = await this.member.memberRecord()
      await kv.put(this.init.peerId, encodePayload(await signMemberRecord(this.key, record)))
      this.lastHeartbeatAt = Date.now()
    } catch (err) {
      this.metrics.kvErrors.inc({ op: 'member_put' })
      this.noteError('heartbeat failed', err)
    }
  }

  /** Clean shutdown: remove the membership record so the fleet sees this anchor leave at once. */
  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.heartbeatTimer)
    this.watchStop?.()
    const nc = this.nc
    if (nc == null || nc.isClosed()) { this.setState('closed'); return }
    try {
      await this.membersKv?.delete(this.init.peerId)
    } catch (err) {
      this.noteError('could not delete the membership record', err)
    }
    this.subscription?.unsubscribe()
    await nc.drain().catch(async () => { await nc.close() })
    this.setState('closed')
  }

  private async connectLoop (): Promise<void> {
    let delay = 500
    while (!this.stopped) {
      try {
        const options = await natsConnectionOptions(this.init.nats, `meganet-anchor ${this.scope.region}/${this.scope.fleet} ${this.init.peerId}`, { peerId: this.init.peerId, seed: this.seed })
        // Retry the first connection ourselves (so stop() can end it); nats.js reconnects after that.
        const nc = await this.nats.connect({ ...options, waitOnFirstConnect: false })
        if (this.stopped) { await nc.close(); return }
        this.nc = nc
        this.setState('connected')
        this.log.info({ server: nc.getServer() }, 'connected to NATS')
        void this.followStatus(nc)
        await this.setupWithRetry(nc)
        return
      } catch (err) {
        this.noteError('cannot connect to NATS yet', err)
        await new Promise(resolve => setTimeout(resolve, delay))
        delay = Math.min(delay * 2, FIRST_CONNECT_RETRY_MAX_MS)
      }
    }
  }

  private async followStatus (nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.setState('disconnected')
        this.log.warn('NATS disconnected; still serving peers, reconnecting')
      } else if (status.type === 'reconnect') {
        this.setState('connected')
        this.log.info({ server: nc.getServer() }, 'NATS reconnected')
        // A restarted server may have lost consumers: set the watch up again and beat at once.
        void this.setupWithRetry(nc)
      }
    }
    if (!this.stopped) this.setState('closed')
  }

  private async setupWithRetry (nc: NatsConnection): Promise<void> {
    while (!this.stopped && !nc.isClosed()) {
      try {
        await this.setup(nc)
        return
      } catch (err) {
        this.metrics.kvErrors.inc({ op: 'setup' })
        this.noteError('coordination setup failed; retrying', err)
        await new Promise(resolve => setTimeout(resolve, SETUP_RETRY_MS))
      }
    }
  }

  private async setup (nc: NatsConnection): Promise<void> {
    const kvm = this.nats.buckets(nc)
    const { replicas, memberTtlMs } = this.init
    const { members, directory } = fleetBuckets(this.scope, { replicas, memberTtlMs, reservationTtlMs: this.init.reservationTtlMs })
    this.membersKv = await createBucket(kvm, members.name, members.options)
    this.directoryKv = new PeerDirectory({ anchor: this.init.peerId, scope: this.scope }, {
      nc,
      kv: await createBucket(kvm, directory.name, directory.options),
      key: this.key,
      isLiveAnchor: async (anchor, scope) => await this.isLiveAnchor(nc, anchor, scope),
      metrics: this.metrics
    })
    await this.watchMembers(this.membersKv)
    if (this.subscription == null) this.subscription = this.serveCommands(nc)
    clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = setInterval(() => { void this.beat() }, this.init.heartbeatMs)
    this.heartbeatTimer.unref()
    await this.heartbeat()
  }

  private async beat (): Promise<void> {
    const dropped = this.view.sweep()
    if (dropped.length > 0) this.publishMembers()
    await this.heartbeat()
    await this.checkWatch()
  }

  /**
   * Our own record is rewritten every beat, so a live watch echoes it. When writes succeed but
   * no echo came for a few beats (its consumer was lost with a NATS node, say), watch anew.
   */
  private async checkWatch (): Promise<void> {
    const kv = this.membersKv
    const limit = 3 * this.init.heartbeatMs + 1_000
    if (kv == null || this.rewatching || this.state !== 'connected' || this.lastHeartbeatAt == null) return
    if (Date.now() - this.lastEchoAt < limit || Date.now() - this.lastHeartbeatAt > limit) return
    this.rewatching = true
    this.log.warn('membership watch stalled; watching anew')
    try {
      await this.watchMembers(kv)
    } catch (err) {
      this.metrics.kvErrors.inc({ op: 'watch' })
      this.noteError('could not restart the membership watch', err)
    } finally {
      this.rewatching = false
    }
  }

  private async watchMembers (kv: KV): Promise<void> {
    this.watchStop?.()
    const watcher = await kv.watch({ key: '>' })
    this.lastEchoAt = Date.now()
    this.watchStop = () => { watcher.stop() }
    void (async () => {
      for await (const entry of watcher) {
        if (entry.key === this.init.peerId) this.lastEchoAt = Date.now()
        const change = this.view.apply(entry)
        if (change == null) continue
        if (change.type === 'rejected') {
          this.metrics.rejected.inc({ source: 'member', reason: change.reason })
          this.log.warn({ key: change.key.slice(0, 80), reason: change.reason, detail: change.message }, 'ignored a membership record that does not check out')
          continue
        }
        this.publishMembers()
      }
    })().catch(err => { this.noteError('membership watch ended', err) })
  }

  private publishMembers (): void {
    this.metrics.members.set(this.view.size)
    this.safeDispatchEvent('members', { detail: this.view.list() })
  }

  private serveCommands (nc: NatsConnection): Subscription {
    const subject = commandSubject(this.scope, this.init.peerId)
    return nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err != null) { this.noteError('command subscription error', err); return }
        void (async () => {
          const reply = await this.handleCommand(msg.data)
          if (msg.reply != null) msg.respond(encodePayload(reply))
        })()
      }
    })
  }

  /** Obeys a command only when a trusted operator key signed it, for this anchor, lately, once. */
  private async handleCommand (data: Uint8Array): Promise<CommandReply> {
    const verified = verifyCommand(data, { anchor: this.init.peerId, scope: this.scope, trusted: this.trustedOperators, replay: this.replay })
    if (!verified.ok) {
      this.metrics.rejected.inc({ source: 'command', reason: verified.reason })
      this.metrics.commands.inc({ command: 'invalid', outcome: 'rejected' })
      this.log.warn({ reason: verified.reason, detail: verified.message }, 'refused a command')
      return { ok: false, error: `invalid command: ${verified.message}` }
    }
    const { command } = verified.value
    try {
      await this.member.command(command)
      const member = await signMemberRecord(this.key, await this.member.memberRecord())
      this.metrics.commands.inc({ command, outcome: 'ok' })
      this.log.info({ command, operator: verified.signer }, 'carried out a signed command')
      void this.heartbeat()
      return { ok: true, command, member }
    } catch (err) {
      this.metrics.commands.inc({ command, outcome: 'error' })
      return { ok: false, error: `${command} failed: ${(err as Error).message}` }
    }
  }

  /**
   * A directory entry counts only when its anchor is a live, non-drained member of the fleet it
   * names: this fleet from the watched view, another from that fleet's bucket (its own signed record).
   */
  private async isLiveAnchor (nc: NatsConnection, anchor: string, scope: FleetScope): Promise<boolean> {
    if (scope.region === this.scope.region && scope.fleet === this.scope.fleet) {
      const member = this.view.get(anchor)
      return member != null && member.phase !== 'drained'
    }
    const name = membersBucket(scope)
    let bucket = this.foreignBuckets.get(name)
    if (bucket == null) {
      if (this.foreignBuckets.size >= MAX_FOREIGN_BUCKETS) this.foreignBuckets.clear()
      bucket = this.nats.buckets(nc).open(name)
      bucket.catch(() => { this.foreignBuckets.delete(name) })
      this.foreignBuckets.set(name, bucket)
    }
    try {
      const entry = await (await bucket).get(anchor)
      if (entry?.operation !== 'PUT') return false
      const verified = verifyMemberRecord(entry.value, { scope, ttlMs: this.init.memberTtlMs, key: anchor })
      return verified.ok && verified.value.phase !== 'drained'
    } catch {
      return false
    }
  }

  private heartbeatAgeSeconds (): number | null {
    return this.lastHeartbeatAt == null ? null : (Date.now() - this.lastHeartbeatAt) / 1000
  }

  private setState (state: CoordinationState): void {
    // Counted on the state /status reports, so the two always agree.
    if (this.state === 'disconnected' && state === 'connected') this.metrics.reconnects.inc()
    this.state = state
    this.metrics.connected.set(state === 'connected' ? 1 : 0)
  }

  private noteError (what: string, err: unknown): void {
    this.lastError = `${what}: ${(err as Error)?.message ?? String(err)}`
    this.log.warn({ err: (err as Error)?.message }, what)
  }
}
