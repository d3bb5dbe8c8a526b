import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Kvm } from '@nats-io/kv'
import { nkeyAuthenticator } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { pino } from 'pino'
import { Counter, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commandSubject, membersBucket } from '@meganet/contracts'
import {
  FleetClient, OPERATOR_INBOX_PREFIX, anchorInboxPrefix, natsKeyAuthenticator, natsUserSeed, signingKeyFromSeed
} from '../../fleet-client/src/index.js'
import { AuthCallout } from '../../operator/src/nats-auth/auth-callout.js'
import { natsAuthConfig } from '../../operator/src/nats-auth/auth-config.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import { MEMBER_TTL_MS, coordinationOf } from '../coordination/fleet.js'
import type { NatsConnection } from '@nats-io/nats-core'

const scope = { region: 'local', fleet: 'callout' }

interface Identity { peerId: string, seed: Uint8Array, file: string }

async function identity (dir: string, name: string): Promise<Identity> {
  const key = await generateKeyPair('Ed25519')
  const file = join(dir, `${name}.key`)
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600 })
  return { peerId: peerIdFromPrivateKey(key).toString(), seed: key.raw.subarray(0, 32), file }
}

async function clientAs (url: string, seed: Uint8Array, inboxPrefix: string): Promise<NatsConnection> {
  return await connect({ servers: url, authenticator: nkeyAuthenticator(new TextEncoder().encode(natsUserSeed(seed))), inboxPrefix, maxReconnectAttempts: 0 })
}

function violations (nc: NatsConnection): string[] {
  const seen: string[] = []
  void (async () => { for await (const status of nc.status()) if (status.type === 'error') seen.push(String(status.error)) })()
  return seen
}

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
  /** Stands in for the operator's pod cache: whether the loopback address is an anchor pod's. */
  let podsAtLoopback = true

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meganet-nats-callout-'))
    for (const name of ['a', 'b']) ids.push(await identity(dir, name))
    const config = join(dir, 'nats.conf')
    await writeFile(config, natsAuthConfig(testOperatorKey().key))
    nats = await TestNats.start({ configFile: config })
    operator = await connect({ servers: nats.url, authenticator: natsKeyAuthenticator(testOperatorKey().key), inboxPrefix: OPERATOR_INBOX_PREFIX })
    callout = new AuthCallout({
      connection: operator,
      key: testOperatorKey().key,
      fleetOfAddress: address => podsAtLoopback && address === '127.0.0.1' ? scope : undefined,
      logins,
      log: pino({ level: 'silent' })
    })
    await operator.flush()
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

    // A key that only claims to be the operator's gets no further.
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
})
