import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { generateKeyPairSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { MAX_CLOCK_SKEW_MS, directoryKey, encodePayload } from '@meganet/contracts'
import { ReplayGuard, keyId, loadSigningKey, signCommand, signDirectoryEntry, signEnvelope, signMemberRecord, signStorageGrant, verifyCommand, verifyDirectoryEntry, verifyMemberRecord, verifyStorageGrant } from './index.js'
import type { DirectoryEntry, MemberRecord, SignedEnvelope } from '@meganet/contracts'

const scope = { region: 'eu', fleet: 'berlin' }
const NOW = 1_800_000_000_000

function record (peerId: string, updatedAt = NOW): MemberRecord {
  return {
    schema: 1, peerId, multiaddrs: [`/ip4/203.0.113.1/tcp/4001/p2p/${peerId}`], roles: ['storage'], region: scope.region, fleet: scope.fleet,
    pod: 'berlin-anchor-0', phase: 'serving', version: '1', startedAt: NOW - 1000, updatedAt, heartbeatMs: 5000,
    load: { connectedPeers: 0, reservations: 0, relayedBytesPerSecond: 0, storedBytes: 0, freeDiskBytes: 0, eventLoopLagSeconds: 0 }
  }
}

function bytes (envelope: SignedEnvelope): Uint8Array {
  return encodePayload(envelope)
}

describe('membership records', () => {
  it('verify when signed by the PeerId they name, for this fleet, and current', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = keyId(key)
    const signed = await signMemberRecord(key, record(id))
    const result = verifyMemberRecord(bytes(signed), { scope, ttlMs: 15_000, key: id, now: NOW + 1000 })
    expect(result).toMatchObject({ ok: true, value: { peerId: id } })
  })

  it('refuse altered, foreign-signed, misplaced, other-fleet, future and stale records', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const id = keyId(key)
    const signed = await signMemberRecord(key, record(id))
    const check = { scope, ttlMs: 15_000, key: id, now: NOW }
    const altered = { ...signed, payload: signed.payload.replace('"serving"', '"drained"') }
    expect(verifyMemberRecord(bytes(altered), check)).toMatchObject({ ok: false, reason: 'bad_signature' })
    expect(verifyMemberRecord(bytes(await signMemberRecord(other, record(id))), check)).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyMemberRecord(bytes({ ...altered, signer: keyId(other) }), check)).toMatchObject({ ok: false, reason: 'bad_signature' })
    expect(verifyMemberRecord(bytes(signed), { ...check, key: keyId(other) })).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyMemberRecord(bytes(signed), { ...check, scope: { region: 'eu', fleet: 'paris' } })).toMatchObject({ ok: false, reason: 'mismatch' })
    const future = await signMemberRecord(key, record(id, NOW + MAX_CLOCK_SKEW_MS + 1))
    expect(verifyMemberRecord(bytes(future), check)).toMatchObject({ ok: false, reason: 'future' })
    expect(verifyMemberRecord(bytes(signed), { ...check, now: NOW + 15_001 })).toMatchObject({ ok: false, reason: 'stale' })
    expect(verifyMemberRecord(new TextEncoder().encode(JSON.stringify(record(id))), check)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verifyMemberRecord(new Uint8Array(70_000), check)).toMatchObject({ ok: false, reason: 'oversized' })
  })

  it('never take a signature made for another kind of record', async () => {
    const key = await generateKeyPair('Ed25519')
    const asCommand = await signEnvelope(key, 'command', record(keyId(key)))
    expect(verifyMemberRecord(bytes(asCommand), { scope, ttlMs: 15_000, now: NOW })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })
})

describe('directory entries', () => {
  async function entry (anchorKey: Awaited<ReturnType<typeof generateKeyPair>>, peer: string, overrides: Partial<DirectoryEntry> = {}): Promise<SignedEnvelope> {
    const anchor = keyId(anchorKey)
    return await signDirectoryEntry(anchorKey, {
      schema: 1, peerId: peer, anchor, region: 'eu', fleet: 'berlin',
      multiaddrs: [`/ip4/203.0.113.1/tcp/4001/p2p/${anchor}/p2p-circuit/p2p/${peer}`], updatedAt: NOW, expiresAt: NOW + 3_600_000, ...overrides
    })
  }

  it('verify when signed by the anchor they name, stored under its key, leading through it', async () => {
    const anchorKey = await generateKeyPair('Ed25519')
    const peer = keyId(await generateKeyPair('Ed25519'))
    const result = verifyDirectoryEntry(bytes(await entry(anchorKey, peer)), { key: directoryKey(peer, keyId(anchorKey)), now: NOW })
    expect(result).toMatchObject({ ok: true, value: { peerId: peer } })
  })

  it('refuse entries under another key, pointing elsewhere, expired or overlong', async () => {
    const anchorKey = await generateKeyPair('Ed25519')
    const anchor = keyId(anchorKey)
    const peer = keyId(await generateKeyPair('Ed25519'))
    const key = directoryKey(peer, anchor)
    expect(verifyDirectoryEntry(bytes(await entry(anchorKey, peer)), { key: peer, now: NOW })).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyDirectoryEntry(bytes(await entry(anchorKey, peer, { multiaddrs: [`/ip4/203.0.113.66/tcp/1/p2p/${peer}`] })), { key, now: NOW })).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyDirectoryEntry(bytes(await entry(anchorKey, peer)), { key, now: NOW + 3_600_001 })).toMatchObject({ ok: false, reason: 'stale' })
    expect(verifyDirectoryEntry(bytes(await entry(anchorKey, peer, { expiresAt: NOW + 400 * 86_400_000 })), { key, now: NOW })).toMatchObject({ ok: false, reason: 'malformed' })
    const impostor = await generateKeyPair('Ed25519')
    const claimed = await signDirectoryEntry(impostor, JSON.parse((await entry(anchorKey, peer)).payload) as DirectoryEntry)
    expect(verifyDirectoryEntry(bytes(claimed), { key, now: NOW })).toMatchObject({ ok: false, reason: 'mismatch' })
  })
})

describe('commands', () => {
  it('verify once when signed by a trusted key, for this anchor and fleet, within their lifetime', async () => {
    const operator = await generateKeyPair('Ed25519')
    const anchor = keyId(await generateKeyPair('Ed25519'))
    const replay = new ReplayGuard()
    const check = { anchor, scope, trusted: new Set([keyId(operator)]), replay, now: NOW + 1000 }
    const signed = bytes(await signCommand(operator, 'drain', { anchor, scope }, { now: NOW }))
    expect(verifyCommand(signed, check)).toMatchObject({ ok: true, value: { command: 'drain' } })
    expect(verifyCommand(signed, check)).toMatchObject({ ok: false, reason: 'replayed' })
  })

  it('refuse untrusted keys, an empty trust set, other anchors or fleets, expired, future and long-lived commands', async () => {
    const operator = await generateKeyPair('Ed25519')
    const stranger = await generateKeyPair('Ed25519')
    const anchor = keyId(await generateKeyPair('Ed25519'))
    const check = { anchor, scope, trusted: new Set([keyId(operator)]), replay: new ReplayGuard(), now: NOW }
    const sign = async (key = operator, target = { anchor, scope }, options: { now?: number, lifetimeMs?: number } = { now: NOW }): Promise<Uint8Array> =>
      bytes(await signCommand(key, 'drain', target, options))
    expect(verifyCommand(await sign(stranger), check)).toMatchObject({ ok: false, reason: 'untrusted' })
    expect(verifyCommand(await sign(), { ...check, trusted: new Set() })).toMatchObject({ ok: false, reason: 'untrusted', message: expect.stringContaining('trusts no operator key') as string })
    expect(verifyCommand(await sign(operator, { anchor: keyId(stranger), scope }), check)).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyCommand(await sign(operator, { anchor, scope: { region: 'eu', fleet: 'paris' } }), check)).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyCommand(await sign(operator, { anchor, scope }, { now: NOW - 120_000 }), check)).toMatchObject({ ok: false, reason: 'stale' })
    expect(verifyCommand(await sign(operator, { anchor, scope }, { now: NOW + 60_000 }), check)).toMatchObject({ ok: false, reason: 'future' })
    expect(verifyCommand(await sign(operator, { anchor, scope }, { now: NOW, lifetimeMs: 3_600_000 }), check)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(verifyCommand(new TextEncoder().encode('{"command":"drain"}'), check)).toMatchObject({ ok: false, reason: 'malformed' })
  })
})

describe('storage grants', () => {
  it('verify for their holder when signed by a trusted grant key, and refuse the rest', async () => {
    const granter = await generateKeyPair('Ed25519')
    const holder = keyId(await generateKeyPair('Ed25519'))
    const grant = await signStorageGrant(granter, { holder, issuedAt: NOW, expiresAt: NOW + 86_400_000, bytesPerDay: null, leaseBytes: 10 ** 12 })
    const trusted = new Set([keyId(granter)])
    expect(verifyStorageGrant(grant, { holder, trusted, now: NOW })).toMatchObject({ ok: true, value: { leaseBytes: 10 ** 12 } })
    expect(verifyStorageGrant(grant, { holder: keyId(granter), trusted, now: NOW })).toMatchObject({ ok: false, reason: 'mismatch' })
    expect(verifyStorageGrant(grant, { holder, trusted: new Set(), now: NOW })).toMatchObject({ ok: false, reason: 'untrusted' })
    expect(verifyStorageGrant(grant, { holder, trusted, now: NOW + 86_400_001 })).toMatchObject({ ok: false, reason: 'stale' })
  })
})

describe('signing keys', () => {
  it('load from PKCS#8 PEM and from libp2p protobuf, and name the file when they cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meganet-key-'))
    try {
      const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
      await writeFile(join(dir, 'operator.pem'), pem)
      const fromPem = await loadSigningKey(join(dir, 'operator.pem'))
      expect(keyId(fromPem)).toMatch(/^12D3KooW/)
      expect(keyId(await loadSigningKey(join(dir, 'operator.pem')))).toBe(keyId(fromPem))
      const key = await generateKeyPair('Ed25519')
      await writeFile(join(dir, 'identity.key'), privateKeyToProtobuf(key))
      expect(keyId(await loadSigningKey(join(dir, 'identity.key')))).toBe(keyId(key))
      await writeFile(join(dir, 'rsa.pem'), generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())
      await expect(loadSigningKey(join(dir, 'rsa.pem'))).rejects.toThrow(/rsa\.pem is not an Ed25519 private key/)
      await expect(loadSigningKey(join(dir, 'missing.pem'))).rejects.toThrow(/cannot read signing key .*missing\.pem: ENOENT/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
