import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { nkeyAuthenticator } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { pino } from 'pino'
import { Counter, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PEER_DIRECTORY_BUCKET, commandSubject, directoryKey, membersBucket } from '@meganet/contracts'
import {
  FleetClient, OPERATOR_INBOX_PREFIX, anchorInboxPrefix, ensureFleetBuckets, natsKeyAuthenticator, natsUserSeed, signingKeyFromSeed
} from '../../fleet-client/src/index.js'
import { AuthCallout } from '../../operator/src/nats-auth/auth-callout.js'
import type { PodRef } from '../../operator/src/nats-auth/admission.js'
import { natsAuthConfig } from '../../operator/src/nats-auth/auth-config.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { clientAs, identity, violations } from '../helpers/nats-identities.js'
import type { Identity } from '../helpers/nats-identities.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import { MEMBER_TTL_MS, coordinationOf } from '../coordination/fleet.js'
import type { NatsConnection } from '@nats-io/nats-core'

const scope = { region: 'local', fleet: 'callout' }

/**
 * The chart's NATS lockdown on a real nats-server: the config the operator writes (one account,
 * the operator its only configured user) and the operator's auth callout deciding every other
 * login. Anchors log in with their identity key and are admitted only from an anchor pod's
 * address; what they may do then is an anchor's permissions for that key, nothing more.
 */
describe('NATS logins decided by the operator (auth callout)', () => {
  let dir: string
  let nats: TestNats
  let operator: NatsConnection
  let callout: AuthCallout
  const anchors: AnchorProcess[] = []
  const ids: Identity[] = []
  const clients: NatsConnection[] = []
  const logins = new Counter({ name: 'logins', help: 'logins', labelNames: ['outcome'], registers: [new Registry()] })
  /**
   * Stands in for the operator's pod cache: whether the loopback address is an anchor pod's, that
   * pod (none: not bound), and the key recorded on it, as the pod annotation would hold it.
   */
  let podsAtLoopback = true
  let pod: PodRef | undefined
  const recordedKeys = new Map<string, string>()
  let recordingFails = false

  function startCallout (loginLifetimeMs?: number): AuthCallout {
    return new AuthCallout({
      connection: operator,
      key: testOperatorKey().key,
      fleetOfAddress: address => {
        if (!podsAtLoopback || address !== '127.0.0.1') return undefined
        const boundKey = pod == null ? undefined : recordedKeys.get(pod.uid)
        return { scope, ...(pod != null ? { pod } : {}), ...(boundKey != null ? { boundKey } : {}) }
      },
      recordBinding: async (at, peerId) => {
        await Promise.resolve()
        if (recordingFails) throw new Error('the API server is away')
        recordedKeys.set(at.uid, peerId)
      },
      logins,
      log: pino({ level: 'silent' }),
      ...(loginLifetimeMs != null ? { loginLifetimeMs } : {})
    })
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meganet-nats-callout-'))
    for (const name of ['a', 'b']) ids.push(await identity(dir, name))
    const config = join(dir, 'nats.conf')
    await writeFile(config, natsAuthConfig(testOperatorKey().key))
    nats = await TestNats.start({ configFile: config })
    operator = await connect({ servers: nats.url, authenticator: natsKeyAuthenticator(testOperatorKey().key), inboxPrefix: OPERATOR_INBOX_PREFIX })
    callout = startCallout()
    await operator.flush()
    // As the operator does before a fleet's anchors connect: only it may create streams.
    await ensureFleetBuckets(operator, scope)
    for (const id of ids) {
      anchors.push(await AnchorProcess.start({
        flags: {
          'identity-file': id.file, 'nats-servers': nats.url, 'nats-identity-nkey': 'true', 'fleet-name': scope.fleet, 'fleet-region': scope.region,
          'coordination-heartbeat': '500ms', 'coordination-member-ttl': `${MEMBER_TTL_MS}ms`, 'coordination-operator-keys': testOperatorKey().id
        }
      }))
    }
  })

  afterAll(async () => {
    callout?.stop()
    await Promise.all(clients.map(async c => await c.close().catch(() => {})))
    await operator?.close().catch(() => {})
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  async function count (outcome: string): Promise<number> {
    return (await logins.get()).values.find(v => v.labels.outcome === outcome)?.value ?? 0
  }

  it('admits anchors by their identity key; they coordinate, and the operator reads and commands them', async () => {
    for (const anchor of anchors) {
      await eventually(async () => {
        const view = await coordinationOf(anchor)
        return view.coordination.members === 2 ? true : undefined
      }, 30_000, 'two members admitted by the callout')
    }
    expect(await count('admitted')).toBeGreaterThanOrEqual(2)
    const fleet = new FleetClient(operator, scope, { commandKey: testOperatorKey().key })
    expect((await fleet.members(MEMBER_TTL_MS)).map(m => m.peerId).sort()).toEqual(ids.map(i => i.peerId).sort())
    expect((await fleet.command(anchors[1]?.peerId ?? '', 'status')).member.phase).toBe('serving')
    for (const anchor of anchors) expect(anchor.logs.join('\n')).not.toMatch(/Permissions Violation|Authorization Violation/i)
  })

  it('refuses anonymous clients, keys from addresses that are no anchor pod, and signatures of the wrong nonce', async () => {
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/i)
    expect(await count('no-nkey')).toBeGreaterThanOrEqual(1)

    const stranger = await identity(dir, 'stranger')
    podsAtLoopback = false
    try {
      await expect(clientAs(nats.url, stranger.seed, anchorInboxPrefix(stranger.peerId))).rejects.toThrow(/Authorization Violation/i)
    } finally {
      podsAtLoopback = true
    }
    expect(await count('not-an-anchor-pod')).toBeGreaterThanOrEqual(1)

    // The right key, but a signature that is not of this server's nonce (a replayed one).
    const honest = nkeyAuthenticator(new TextEncoder().encode(natsUserSeed(stranger.seed)))
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0, authenticator: () => honest('a nonce from another connection') }))
      .rejects.toThrow(/Authorization Violation/i)
    expect(await count('bad-signature')).toBeGreaterThanOrEqual(1)

    // A key that only claims to be the operator's gets no further (the server itself refuses it: the operator is a configured user).
    const claimed = natsKeyAuthenticator(signingKeyFromSeed(stranger.seed))
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0, authenticator: (nonce?: string) => ({ ...claimed(nonce), nkey: natsKeyAuthenticator(testOperatorKey().key)(nonce).nkey }) }))
      .rejects.toThrow(/Authorization Violation/i)
  })

  it('gives an admitted key an anchor\'s permissions for itself: not another anchor\'s key, commands or inbox, not `>`', async () => {
    const [a, b] = ids as [Identity, Identity]
    const thief = await clientAs(nats.url, a.seed, anchorInboxPrefix(a.peerId))
    clients.push(thief)
    const errors = violations(thief)
    const members = await new Kvm(thief).open(membersBucket(scope))
    await expect(members.put(b.peerId, new TextEncoder().encode('{"forged":true}'))).rejects.toThrow()
    await expect(members.delete(b.peerId)).rejects.toThrow()
    thief.subscribe('>')
    thief.subscribe(commandSubject(scope, b.peerId))
    thief.subscribe('$SYS.REQ.USER.AUTH')
    thief.publish(commandSubject(scope, b.peerId), new TextEncoder().encode('{}'))
    await thief.flush()
    for (const expected of ['Subscription to ">"', `Subscription to "${commandSubject(scope, b.peerId)}"`,
      'Subscription to "$SYS.REQ.USER.AUTH"', `Publish to "${commandSubject(scope, b.peerId)}"`]) {
      await eventually(() => errors.some(e => e.includes(`Permissions Violation for ${expected}`)) ? true : undefined, 5_000, `refused: ${expected}`)
    }
    const record = await members.get(b.peerId)
    expect(new TextDecoder().decode(record?.value)).not.toContain('forged')
  })

  it('lets no anchor create a stream (and so choose its subjects): the operator made the buckets', async () => {
    const [a] = ids as [Identity]
    const thief = await clientAs(nats.url, a.seed, anchorInboxPrefix(a.peerId))
    clients.push(thief)
    const errors = violations(thief)
    const jsm = await jetstreamManager(thief, { timeout: 2_000 })
    // A new fleet's bucket, made to capture every command, inbox and login request.
    await expect(jsm.streams.add({ name: 'KV_meganet_members_local_capture', subjects: ['$KV.meganet_members_local_capture.>', 'meganet.>', '_INBOX.>', '$SYS.REQ.USER.AUTH'] })).rejects.toThrow()
    await eventually(() => errors.some(e => e.includes('Permissions Violation for Publish to "$JS.API.STREAM.CREATE.KV_meganet_members_local_capture"')) ? true : undefined, 5_000, 'stream creation refused')
    await expect((await jetstreamManager(operator)).streams.info('KV_meganet_members_local_capture')).rejects.toThrow(/stream not found/)
  })

  it('ignores a login request a client made JetStream deliver to the callout subject: only the server\'s signed requests are answered', async () => {
    const [a] = ids as [Identity]
    const thief = await clientAs(nats.url, a.seed, anchorInboxPrefix(a.peerId))
    clients.push(thief)
    const minted = await identity(dir, 'minted')
    const connect = natsKeyAuthenticator(signingKeyFromSeed(minted.seed))('chosen-nonce')
    const claims = { iss: 'N'.padEnd(56, 'A'), nats: { type: 'authorization_request', server_id: { id: 'N'.padEnd(56, 'A') }, user_nkey: connect.nkey, client_info: { host: '127.0.0.1', nonce: 'chosen-nonce' }, connect_opts: connect } }
    const forged = ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'c2ln'].join('.')
    // Written where it may write (its own directory entry), delivered by a push consumer it may create.
    const directory = await new Kvm(thief).open(PEER_DIRECTORY_BUCKET)
    const somePeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    await directory.put(directoryKey(somePeer, a.peerId), new TextEncoder().encode(forged))
    const before = { admitted: await count('admitted'), forged: await count('forged') }
    const jsm = await jetstreamManager(thief, { timeout: 2_000 })
    await jsm.consumers.add(`KV_${PEER_DIRECTORY_BUCKET}`, {
      deliver_subject: '$SYS.REQ.USER.AUTH', filter_subject: `$KV.${PEER_DIRECTORY_BUCKET}.${directoryKey(somePeer, a.peerId)}`, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All
    })
    await eventually(async () => await count('forged') > before.forged ? true : undefined, 10_000, 'the delivered request seen and ignored')
    expect(await count('admitted')).toBe(before.admitted)
  })

  it('ends a login when its time is up: the client logs in again, checked anew, and is refused once its pod is gone', async () => {
    callout.stop()
    callout = startCallout(2_000)
    try {
      const member = await identity(dir, 'expiring')
      const client = await connect({
        servers: nats.url, inboxPrefix: anchorInboxPrefix(member.peerId), reconnectTimeWait: 200, maxReconnectAttempts: -1,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(natsUserSeed(member.seed)))
      })
      clients.push(client)
      const seen: string[] = []
      void (async () => { for await (const status of client.status()) seen.push(status.type) })()
      const admittedBefore = await count('admitted')
      await eventually(() => seen.includes('reconnect') ? true : undefined, 15_000, 'disconnected at expiry and logged in again')
      expect(await count('admitted')).toBeGreaterThan(admittedBefore)
      // Still an anchor of its fleet after logging in again: it may write its own member key.
      await (await new Kvm(client).open(membersBucket(scope))).put(member.peerId, new TextEncoder().encode('{}'))
      // Its pod is gone: the next login is refused.
      podsAtLoopback = false
      const refusedBefore = await count('not-an-anchor-pod')
      await eventually(async () => await count('not-an-anchor-pod') > refusedBefore ? true : undefined, 15_000, 'refused after its pod went')
      expect(client.isClosed() || seen.includes('disconnect')).toBe(true)
    } finally {
      podsAtLoopback = true
      callout.stop()
      callout = startCallout()
    }
  })

  it('binds one key to one pod, recorded on the pod: a pod taken over cannot log in as a crowd of members, not even after a leader change', async () => {
    pod = { namespace: 'ns', name: 'anchor-0', uid: 'pod-uid-1' }
    try {
      const first = await identity(dir, 'first')
      const second = await identity(dir, 'second')
      clients.push(await clientAs(nats.url, first.seed, anchorInboxPrefix(first.peerId)))
      expect(recordedKeys.get('pod-uid-1')).toBe(first.peerId)
      await expect(clientAs(nats.url, second.seed, anchorInboxPrefix(second.peerId))).rejects.toThrow(/Authorization Violation/i)
      expect(await count('another-key-for-pod')).toBeGreaterThanOrEqual(1)
      // The same key again (the anchor restarted in its pod) is still welcome.
      clients.push(await clientAs(nats.url, first.seed, anchorInboxPrefix(first.peerId)))

      // A new leader remembers nothing itself: the key recorded on the pod still holds.
      callout.stop()
      callout = startCallout()
      const refusedBefore = await count('another-key-for-pod')
      await expect(clientAs(nats.url, second.seed, anchorInboxPrefix(second.peerId))).rejects.toThrow(/Authorization Violation/i)
      expect(await count('another-key-for-pod')).toBe(refusedBefore + 1)
      clients.push(await clientAs(nats.url, first.seed, anchorInboxPrefix(first.peerId)))

      // A first login whose key cannot be recorded is refused until it can be.
      pod = { namespace: 'ns', name: 'anchor-1', uid: 'pod-uid-2' }
      recordingFails = true
      await expect(clientAs(nats.url, second.seed, anchorInboxPrefix(second.peerId))).rejects.toThrow(/Authorization Violation/i)
      expect(await count('binding-not-recorded')).toBeGreaterThanOrEqual(1)
      recordingFails = false
      clients.push(await clientAs(nats.url, second.seed, anchorInboxPrefix(second.peerId)))
      expect(recordedKeys.get('pod-uid-2')).toBe(second.peerId)
    } finally {
      pod = undefined
      recordingFails = false
    }
  })
})
