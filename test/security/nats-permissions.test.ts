import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Kvm } from '@nats-io/kv'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PEER_DIRECTORY_BUCKET, commandSubject, directoryKey, membersBucket } from '@meganet/contracts'
import {
  FleetClient, OPERATOR_INBOX_PREFIX, anchorInboxPrefix, anchorPermissions, ensureFleetBuckets, natsUserOfPeerId, operatorPermissions
} from '../../fleet-client/src/index.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { clientAs, identity, violations } from '../helpers/nats-identities.js'
import type { Identity } from '../helpers/nats-identities.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import { TestPeers } from '../helpers/peers.js'
import { MEMBER_TTL_MS, coordinationOf } from '../coordination/fleet.js'
import type { NatsConnection } from '@nats-io/nats-core'

const scope = { region: 'local', fleet: 'locked' }

/**
 * NATS locked down with per-component credentials: each anchor's NATS user is its own identity
 * key (an nkey), allowed to write only its own membership key and directory entries and to
 * receive only its own commands; the operator may read members and send commands. A real
 * nats-server runs the config the permission builders produce, with real anchors on it.
 */
describe('NATS permissions confine each component to its own subjects', () => {
  let dir: string
  let nats: TestNats
  const anchors: AnchorProcess[] = []
  const ids: Identity[] = []
  let operatorSeed: Uint8Array
  const peers = new TestPeers()
  const clients: NatsConnection[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meganet-nats-locked-'))
    for (const name of ['a', 'b']) ids.push(await identity(dir, name))
    const operator = await identity(dir, 'operator')
    operatorSeed = operator.seed
    const users = [
      ...ids.map(id => ({ nkey: natsUserOfPeerId(id.peerId), permissions: anchorPermissions(id.peerId, scope) })),
      { nkey: natsUserOfPeerId(operator.peerId), permissions: operatorPermissions() }
    ]
    const config = join(dir, 'nats.conf')
    // No user without credentials: an anonymous client is refused.
    await writeFile(config, JSON.stringify({ accounts: { MEGANET: { jetstream: 'enabled', users } } }, null, 2))
    nats = await TestNats.start({ configFile: config })
    // The operator creates the fleet's buckets: anchors may not create streams.
    const creator = await clientAs(nats.url, operatorSeed, OPERATOR_INBOX_PREFIX)
    await ensureFleetBuckets(creator, scope)
    await creator.close()
    for (const id of ids) {
      anchors.push(await AnchorProcess.start({
        flags: {
          'identity-file': id.file, 'nats-servers': nats.url, 'nats-identity-nkey': 'true', 'fleet-name': scope.fleet,
          'coordination-heartbeat': '500ms', 'coordination-member-ttl': `${MEMBER_TTL_MS}ms`, 'coordination-operator-keys': testOperatorKey().id
        }
      }))
    }
  })

  afterAll(async () => {
    await peers.stopAll()
    await Promise.all(clients.map(async c => await c.close().catch(() => {})))
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('lets anchors coordinate on their own credentials: membership, directory, signed commands', async () => {
    for (const anchor of anchors) {
      await eventually(async () => {
        const view = await coordinationOf(anchor)
        return view.coordination.members === 2 && view.anchors.connected === 1 ? true : undefined
      }, 30_000, 'two members under permissions')
    }
    const [a, b] = anchors as [AnchorProcess, AnchorProcess]
    const hidden = await peers.on(a)
    const seeker = await peers.on(b)
    await eventually(async () => (await seeker.locate(hidden.peerId)).via === 'directory' ? true : undefined, 10_000, 'found through the directory')
    const operator = await clientAs(nats.url, operatorSeed, OPERATOR_INBOX_PREFIX)
    clients.push(operator)
    const fleet = new FleetClient(operator, scope, { commandKey: testOperatorKey().key })
    expect((await fleet.members(MEMBER_TTL_MS)).map(m => m.peerId).sort()).toEqual(ids.map(i => i.peerId).sort())
    expect((await fleet.command(b.peerId, 'status')).member.phase).toBe('serving')
    // Everything the anchors did stayed inside their permissions.
    for (const anchor of anchors) expect(anchor.logs.join('\n')).not.toMatch(/Permissions Violation/i)
  })

  it('refuses an anonymous client', async () => {
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization Violation/i)
  })

  it('keeps an anchor\'s credentials off another anchor\'s key, entries and commands, and off `>`', async () => {
    const [a, b] = ids as [Identity, Identity]
    const thief = await clientAs(nats.url, a.seed, anchorInboxPrefix(a.peerId))
    clients.push(thief)
    const errors = violations(thief)
    const members = await new Kvm(thief).open(membersBucket(scope))
    const directory = await new Kvm(thief).open(PEER_DIRECTORY_BUCKET)

    // Its own key it may write; another anchor's it may not, nor delete it.
    await members.put(a.peerId, new TextEncoder().encode('{}'))
    await expect(members.put(b.peerId, new TextEncoder().encode('{"forged":true}'))).rejects.toThrow()
    await expect(members.delete(b.peerId)).rejects.toThrow()
    const somePeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    await directory.put(directoryKey(somePeer, a.peerId), new TextEncoder().encode('{}'))
    await expect(directory.put(directoryKey(somePeer, b.peerId), new TextEncoder().encode('{}'))).rejects.toThrow()
    await expect(directory.put(somePeer, new TextEncoder().encode('{}'))).rejects.toThrow()

    // It may not listen beyond its own commands and inbox, nor send commands.
    thief.subscribe('>')
    thief.subscribe(commandSubject(scope, b.peerId))
    thief.subscribe(`${anchorInboxPrefix(b.peerId)}.>`)
    thief.publish(commandSubject(scope, b.peerId), new TextEncoder().encode('{}'))
    await thief.flush()
    for (const expected of ['Subscription to ">"', `Subscription to "${commandSubject(scope, b.peerId)}"`,
      `Subscription to "${anchorInboxPrefix(b.peerId)}.>"`, `Publish to "${commandSubject(scope, b.peerId)}"`]) {
      await eventually(() => errors.some(e => e.includes(`Permissions Violation for ${expected}`)) ? true : undefined, 5_000, `refused: ${expected}`)
    }

    // B's record is still B's own.
    const record = await members.get(b.peerId)
    expect(new TextDecoder().decode(record?.value)).not.toContain('forged')
  })
})
