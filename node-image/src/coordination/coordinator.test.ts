import { pino } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { commandSubject, encodePayload, membersBucket } from '@meganet/contracts'
import { keyId, signCommand, signMemberRecord, signingKeyFromSeed, verifyMemberRecord } from '@meganet/fleet-client'
import { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import { Coordinator } from './coordinator.js'
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'
import type { AnchorCommand, CommandReply, MemberRecord } from '@meganet/contracts'
import type { CoordinatorInit, NatsLink } from './coordinator.js'

interface Entry { readonly key: string, readonly value: Uint8Array, readonly operation: 'PUT' | 'DEL' }

/** A pushed-to async iterator: what a KV watch is. */
class Feed<T> implements AsyncIterableIterator<T> {
  private readonly queued: T[] = []
  private waiting?: (result: IteratorResult<T>) => void
  private ended = false

  push (item: T): void {
    if (this.ended) return
    if (this.waiting != null) { const wake = this.waiting; this.waiting = undefined; wake({ value: item, done: false }) } else this.queued.push(item)
  }

  stop (): void {
    this.ended = true
    this.waiting?.({ value: undefined, done: true })
  }

  async next (): Promise<IteratorResult<T>> {
    const item = this.queued.shift()
    if (item != null) return { value: item, done: false }
    if (this.ended) return { value: undefined, done: true }
    return await new Promise(resolve => { this.waiting = resolve })
  }

  [Symbol.asyncIterator] (): AsyncIterableIterator<T> { return this }
}

/** One JetStream KV bucket in memory: latest value per key, watches see the current values, then every change. */
class MemoryKv {
  readonly entries = new Map<string, Entry>()
  private readonly watches = new Set<Feed<Entry>>()

  async put (key: string, value: Uint8Array): Promise<number> { this.write({ key, value, operation: 'PUT' }); return await Promise.resolve(this.entries.size) }
  async delete (key: string): Promise<void> { this.write({ key, value: new Uint8Array(), operation: 'DEL' }); await Promise.resolve() }
  async get (key: string): Promise<Entry | null> { return await Promise.resolve(this.entries.get(key) ?? null) }

  async watch (): Promise<Feed<Entry>> {
    const feed = new Feed<Entry>()
    for (const entry of this.entries.values()) feed.push(entry)
    this.watches.add(feed)
    return await Promise.resolve(feed)
  }

  private write (entry: Entry): void {
    this.entries.set(entry.key, entry)
    for (const feed of this.watches) feed.push(entry)
  }
}

type Callback = (err: Error | null, msg: { data: Uint8Array, reply?: string, respond: (data: Uint8Array) => boolean }) => void

/** The part of a NATS connection the coordinator uses: subscriptions, a status feed, close. */
class MemoryNats {
  readonly buckets = new Map<string, MemoryKv>()
  readonly subscriptions = new Map<string, Callback>()
  private readonly statusFeed = new Feed<{ type: string }>()
  private closed = false
  refuseConnections = 0

  link (): NatsLink {
    return {
      connect: async () => {
        if (this.refuseConnections-- > 0) throw new Error('connection refused')
        return await Promise.resolve(this as unknown as NatsConnection)
      },
      buckets: () => ({
        create: async (name: string) => {
          const bucket = this.buckets.get(name) ?? new MemoryKv()
          this.buckets.set(name, bucket)
          return await Promise.resolve(bucket as unknown as KV)
        },
        open: async (name: string) => {
          const bucket = this.buckets.get(name)
          if (bucket == null) throw new Error(`no bucket ${name}`)
          return await Promise.resolve(bucket as unknown as KV)
        }
      })
    }
  }

  bucket (name: string): MemoryKv {
    const bucket = this.buckets.get(name)
    if (bucket == null) throw new Error(`no bucket ${name}`)
    return bucket
  }

  /** A request as `nats req` sends it: the reply the subscriber gives, decoded. */
  async request (subject: string, data: Uint8Array): Promise<CommandReply> {
    const callback = this.subscriptions.get(subject)
    if (callback == null) throw new Error(`no subscriber on ${subject}`)
    return await new Promise(resolve => {
      callback(null, { data, reply: '_INBOX.test', respond: reply => { resolve(JSON.parse(new TextDecoder().decode(reply)) as CommandReply); return true } })
    })
  }

  getServer (): string { return 'memory' }
  isClosed (): boolean { return this.closed }
  status (): Feed<{ type: string }> { return this.statusFeed }
  /** A status event as nats.js delivers it. */
  announce (type: string): void { this.statusFeed.push({ type }) }
  subscribe (subject: string, options: { callback: Callback }): { unsubscribe: () => void } {
    this.subscriptions.set(subject, options.callback)
    return { unsubscribe: () => { this.subscriptions.delete(subject) } }
  }

  async drain (): Promise<void> { await this.close() }
  async close (): Promise<void> { this.closed = true; this.statusFeed.stop(); await Promise.resolve() }
}

const scope = { region: 'eu', fleet: 'berlin' }
const seedOf = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const anchorKey = signingKeyFromSeed(seedOf(1))
const anchorId = keyId(anchorKey)
const operatorKey = signingKeyFromSeed(seedOf(2))
const strangerKey = signingKeyFromSeed(seedOf(3))
const fellowKey = signingKeyFromSeed(seedOf(4))

function record (peerId: string, phase: MemberRecord['phase'] = 'serving'): MemberRecord {
  return {
    schema: 1, peerId, multiaddrs: [], roles: ['storage'], region: scope.region, fleet: scope.fleet, pod: `pod-${peerId.slice(-4)}`, phase, version: '1',
    startedAt: 0, updatedAt: Date.now(), heartbeatMs: 1000,
    load: { connectedPeers: 0, reservations: 0, relayedBytesPerSecond: 0, storedBytes: 0, freeDiskBytes: 0, eventLoopLagSeconds: 0 }
  }
}

/** Waits for a condition the coordinator reaches asynchronously, without a fixed sleep. */
async function until<T> (check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

const running: Coordinator[] = []
afterEach(async () => { await Promise.all(running.splice(0).map(async c => await c.stop())) })

function start (nats: MemoryNats, options: { operatorKeys?: string[] } = {}) {
  const registry = new Registry()
  const commands: AnchorCommand[] = []
  let phase: MemberRecord['phase'] = 'serving'
  const init: CoordinatorInit = {
    peerId: anchorId, scope, nats: { servers: ['nats://memory:4222'], identityNkey: false, tls: {} },
    heartbeatMs: 60_000, memberTtlMs: 15_000, replicas: 1, reservationTtlMs: 60_000, operatorKeys: options.operatorKeys ?? []
  }
  const coordinator = new Coordinator(init, {
    member: {
      memberRecord: async () => await Promise.resolve(record(anchorId, phase)),
      command: async command => { commands.push(command); if (command === 'drain') phase = 'draining'; await Promise.resolve() }
    },
    key: anchorKey, seed: seedOf(1), metrics: new CoordinationMetrics(registry), log: pino({ level: 'silent' }), nats: nats.link()
  })
  running.push(coordinator)
  const members: Array<readonly MemberRecord[]> = []
  coordinator.addEventListener('members', event => { members.push(event.detail) })
  coordinator.start()
  const metric = async (name: string, labels: Record<string, string>): Promise<number> =>
    ((await registry.getSingleMetric(name)?.get())?.values ?? [])
      .filter(v => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0)
  return { coordinator, commands, members, metric }
}

describe('the coordinator, against NATS in memory', () => {
  it('writes its own signed membership record once connected, and retries a refused first connection', async () => {
    const nats = new MemoryNats()
    nats.refuseConnections = 1
    const { coordinator } = start(nats)
    expect(coordinator.status().state).toBe('connecting')
    const entry = await until(() => nats.buckets.get(membersBucket(scope))?.entries.get(anchorId), 'the membership record')
    const verified = verifyMemberRecord(entry.value, { scope, ttlMs: 15_000, key: anchorId })
    expect(verified.ok && verified.value.phase).toBe('serving')
    expect(coordinator.status()).toMatchObject({ state: 'connected', servers: ['nats://memory:4222'] })
    expect(coordinator.status().lastError).toContain('connection refused')
  })

  it('lists fellow members from their signed records, and ignores and counts a forged one', async () => {
    const nats = new MemoryNats()
    const { coordinator, members, metric } = start(nats)
    const bucket = await until(() => nats.buckets.get(membersBucket(scope))?.entries.has(anchorId) === true ? nats.bucket(membersBucket(scope)) : undefined, 'setup')
    const fellow = keyId(fellowKey)
    await bucket.put(fellow, encodePayload(await signMemberRecord(fellowKey, record(fellow))))
    await until(() => coordinator.members().length === 2 ? true : undefined, 'the fellow member')
    expect(members.at(-1)?.map(m => m.peerId).sort()).toEqual([anchorId, fellow].sort())

    // Someone with NATS access writes a record for the fellow, signed with another key.
    await bucket.put(fellow, encodePayload(await signMemberRecord(strangerKey, record(fellow, 'drained'))))
    await until(async () => await metric('meganet_coordination_messages_rejected_total', { source: 'member' }) > 0 ? true : undefined, 'the forgery refused')
    expect(coordinator.members().find(m => m.peerId === fellow)?.phase).toBe('serving')
    expect(coordinator.members()).toHaveLength(2)
  })

  it('obeys a drain signed by a trusted operator key once, and refuses an untrusted, misaddressed or replayed one', async () => {
    const nats = new MemoryNats()
    const { commands, metric } = start(nats, { operatorKeys: [keyId(operatorKey)] })
    const subject = commandSubject(scope, anchorId)
    await until(() => nats.subscriptions.has(subject) ? true : undefined, 'the command subscription')

    const drain = encodePayload(await signCommand(operatorKey, 'drain', { anchor: anchorId, scope }))
    const reply = await nats.request(subject, drain)
    expect(reply).toMatchObject({ ok: true, command: 'drain' })
    expect(commands).toEqual(['drain'])
    const member = (reply as { member?: Parameters<typeof verifyMemberRecord>[0] }).member
    const verified = verifyMemberRecord(member!, { scope, ttlMs: 15_000, key: anchorId })
    expect(verified.ok && verified.value.phase).toBe('draining')

    expect(await nats.request(subject, drain)).toMatchObject({ ok: false })
    const untrusted = encodePayload(await signCommand(strangerKey, 'undrain', { anchor: anchorId, scope }))
    expect(await nats.request(subject, untrusted)).toMatchObject({ ok: false })
    const elsewhere = encodePayload(await signCommand(operatorKey, 'undrain', { anchor: keyId(fellowKey), scope }))
    expect(await nats.request(subject, elsewhere)).toMatchObject({ ok: false })
    expect(await nats.request(subject, new TextEncoder().encode('{"command":"undrain"}'))).toMatchObject({ ok: false })
    expect(commands).toEqual(['drain'])
    expect(await metric('meganet_coordination_commands_total', { command: 'invalid', outcome: 'rejected' })).toBe(4)
    expect(await metric('meganet_coordination_commands_total', { command: 'drain', outcome: 'ok' })).toBe(1)
  })

  it('obeys no command at all when no operator key is trusted', async () => {
    const nats = new MemoryNats()
    const { commands } = start(nats)
    const subject = commandSubject(scope, anchorId)
    await until(() => nats.subscriptions.has(subject) ? true : undefined, 'the command subscription')
    expect(await nats.request(subject, encodePayload(await signCommand(operatorKey, 'drain', { anchor: anchorId, scope })))).toMatchObject({ ok: false })
    expect(commands).toEqual([])
  })

  it('reports a lost NATS link and counts its return once, even if a status repeats', async () => {
    const nats = new MemoryNats()
    const { coordinator, metric } = start(nats)
    await until(() => nats.buckets.get(membersBucket(scope))?.entries.has(anchorId) === true ? true : undefined, 'setup')
    nats.announce('disconnect')
    await until(() => coordinator.status().state === 'disconnected' ? true : undefined, 'disconnected')
    expect(await metric('meganet_coordination_connected', {})).toBe(0)
    nats.announce('disconnect')
    nats.announce('reconnect')
    nats.announce('reconnect')
    await until(() => coordinator.status().state === 'connected' ? true : undefined, 'reconnected')
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(await metric('meganet_coordination_reconnects_total', {})).toBe(1)
    expect(await metric('meganet_coordination_connected', {})).toBe(1)
  })

  it('deletes its record on stop, so the fleet sees it leave at once', async () => {
    const nats = new MemoryNats()
    const { coordinator } = start(nats)
    const bucket = await until(() => nats.buckets.get(membersBucket(scope))?.entries.has(anchorId) === true ? nats.bucket(membersBucket(scope)) : undefined, 'setup')
    await coordinator.stop()
    expect(bucket.entries.get(anchorId)?.operation).toBe('DEL')
    expect(coordinator.status().state).toBe('closed')
    expect(nats.isClosed()).toBe(true)
  })
})
