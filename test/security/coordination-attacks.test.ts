import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Kvm } from '@nats-io/kv'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PEER_DIRECTORY_BUCKET, commandSubject, membersBucket } from '@meganet/contracts'
import { cidOf } from '../../node-image/src/blocks/cid.js'
import { replicaCounts } from '../../node-image/src/blocks/replica-counts.js'
import { eventually } from '../helpers/anchor-process.js'
import { TestNats, natsClient } from '../helpers/nats.js'
import { TestPeers } from '../helpers/peers.js'
import { storageFleet } from '../storage/storage-fleet.js'
import type { AnchorProcess } from '../helpers/anchor-process.js'
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

/** Membership records the anchor refused, for any reason. */
async function rejectedMembers (anchor: AnchorProcess): Promise<number> {
  return (await anchor.metrics()).split('\n')
    .filter(line => line.startsWith('meganet_coordination_messages_rejected_total{source="member"'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)
}

/**
 * Issue 13, finding 1: a client that merely reaches NATS (no credentials, no keys of the fleet)
 * tries to drain an anchor, to stuff the membership with forged storage anchors, to overwrite a
 * real anchor's record and to redirect a peer's directory entry. None of it may take effect.
 */
describe('a NATS client without the fleet\'s keys controls nothing', () => {
  let nats: TestNats
  let attacker: NatsConnection
  let anchors: AnchorProcess[] = []
  let members: KV
  const peers = new TestPeers()
  const scope = { region: 'local', fleet: 'forgery' }

  beforeAll(async () => {
    nats = await TestNats.start()
    anchors = await storageFleet(nats, scope.fleet, 3)
    attacker = await natsClient(nats.url)
    members = await new Kvm(attacker).open(membersBucket(scope))
  })

  afterEach(async () => {
    await peers.stopAll()
  })

  afterAll(async () => {
    await peers.stopAll()
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await attacker?.close()
    await nats?.cleanup()
  })

  it('ignores forged storage members, so honest puts still reach their quorum', async () => {
    const real = await members.get(anchors[0]!.peerId)
    const template = JSON.parse(new TextDecoder().decode(real!.value)) as Record<string, unknown>
    const record = (template.payload != null ? JSON.parse(template.payload as string) : template) as Record<string, unknown>
    const fakes = await Promise.all(Array.from({ length: 12 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    // The bucket expires records after the member TTL, so the attacker keeps writing them.
    let forging = true
    const forge = (async () => {
      while (forging) {
        for (const [i, fake] of fakes.entries()) {
          const forged = { ...record, peerId: fake, multiaddrs: [`/ip4/203.0.113.${i + 1}/tcp/4001/p2p/${fake}`], phase: 'serving', updatedAt: Date.now() + 10 * 60_000 }
          // Both shapes: the bare record, and one dressed as a signed envelope with a made-up signature.
          const value = i % 2 === 0 ? forged : { payload: JSON.stringify(forged), signature: randomBytes(64).toString('base64url') }
          await members.put(fake, new TextEncoder().encode(JSON.stringify(value))).catch(() => {})
        }
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    })()
    try {
      const peer = await peers.on(anchors[1]!)
      for (let i = 0; i < 10; i++) {
        const bytes = randomBytes(10_000)
        await peer.blocks().put(await cidOf(bytes, 'raw'), bytes, { pin: false })
      }
    } finally {
      forging = false
      await forge
    }
  })

  it('ignores a forgery written over a real anchor\'s record', async () => {
    const [reader, victim] = anchors as [AnchorProcess, AnchorProcess]
    const rejectedBefore = await rejectedMembers(reader)
    const real = await members.get(victim.peerId)
    const envelope = JSON.parse(new TextDecoder().decode(real!.value)) as Record<string, unknown>
    const record = (envelope.payload != null ? JSON.parse(envelope.payload as string) : envelope) as Record<string, unknown>
    // The victim rewrites its record every 500 ms; the attacker keeps overwriting it, saying it left.
    let forging = true
    const forge = (async () => {
      while (forging) {
        const forged = { ...record, phase: 'drained', multiaddrs: [`/ip4/203.0.113.99/tcp/4001/p2p/${victim.peerId}`], updatedAt: Date.now() }
        await members.put(victim.peerId, new TextEncoder().encode(JSON.stringify(envelope.payload != null ? { ...envelope, payload: JSON.stringify(forged) } : forged)))
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })()
    try {
      await eventually(async () => (await rejectedMembers(reader)) > rejectedBefore ? true : undefined, 10_000, 'forgery rejected')
      // The victim still takes part in placement: a put through the reader lands on all three anchors.
      const peer = await peers.on(reader)
      const bytes = randomBytes(5_000)
      const cid = await cidOf(bytes, 'raw')
      await peer.blocks().put(cid, bytes, { pin: false })
      await eventually(async () => (await replicaCounts(peer.node, anchors.map(a => a.peerId), [cid]))[0] === 3 ? true : undefined, 10_000, 'block on all three anchors')
    } finally {
      forging = false
      await forge
    }
  })

  it('never serves a forged directory entry', async () => {
    const [home, , far] = anchors as [AnchorProcess, AnchorProcess, AnchorProcess]
    const hidden = await peers.on(home)
    const seeker = await peers.on(far)
    const directory = await new Kvm(attacker).open(PEER_DIRECTORY_BUCKET)
    const fake = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const trap = `/ip4/203.0.113.66/tcp/4001/p2p/${fake}/p2p-circuit/p2p/${hidden.peerId}`
    const forged = { schema: 1, peerId: hidden.peerId, anchor: fake, region: 'local', fleet: scope.fleet, multiaddrs: [trap], updatedAt: Date.now(), expiresAt: Date.now() + 3_600_000 }
    const keys = [hidden.peerId, `${hidden.peerId}.${fake}`, `${hidden.peerId}.${home.peerId}`]
    let forging = true
    const forge = (async () => {
      while (forging) {
        for (const key of keys) await directory.put(key, new TextEncoder().encode(JSON.stringify(forged))).catch(() => {})
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })()
    try {
      await new Promise(resolve => setTimeout(resolve, 500))
      for (let i = 0; i < 5; i++) {
        const found = await seeker.locate(hidden.peerId)
        expect(found.multiaddrs.map(m => m.toString())).not.toContain(trap)
      }
      await seeker.send(hidden.peerId, new TextEncoder().encode('still reachable'))
    } finally {
      forging = false
      await forge
    }
  })

  it('refuses a drain command nobody trusted signed', async () => {
    const target = anchors[0]!
    for (const payload of [{ command: 'drain' }, { command: 'drain', signature: 'forged' }]) {
      const reply = await attacker.request(commandSubject(scope, target.peerId), new TextEncoder().encode(JSON.stringify(payload)), { timeout: 5_000 })
      expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({ ok: false })
    }
    expect((await target.json<{ phase: string }>('/status')).phase).toBe('serving')
    expect((await fetch(target.url('/readyz'))).status).toBe(200)
  })
})
