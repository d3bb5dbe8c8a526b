import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { Libp2pRecord } from '@libp2p/record'
import { multiaddr } from '@multiformats/multiaddr'
import { MAX_PEER_RECORD_AGE_MS } from '@meganet/contracts'
import { describe, expect, it, vi } from 'vitest'
import { BoundedDhtStore } from './bounded-dht-store.js'
import { checkPeerRecord, peerRecordDhtRules, peerRecordExpired, peerRecordKey, peerRecordReplaces, signingTime } from './peer-records.js'
import { Key } from 'interface-datastore'
import type { PrivateKey } from '@libp2p/interface'

const ANCHOR = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

async function signed (key: PrivateKey, init: { seq?: bigint, addresses?: number, about?: PrivateKey } = {}): Promise<Uint8Array> {
  const peerId = peerIdFromPrivateKey(init.about ?? key)
  const multiaddrs = Array.from({ length: init.addresses ?? 1 }, (_, i) => multiaddr(`/ip4/192.0.2.${i % 250}/tcp/4001/p2p/${ANCHOR}/p2p-circuit`))
  const record = new PeerRecord({ peerId, multiaddrs, seqNumber: init.seq ?? BigInt(Date.now()) })
  return (await RecordEnvelope.seal(record, key)).marshal()
}

describe('signed peer records', () => {
  it('accepts a record the peer signed, with a js (ms) or go (ns) sequence number', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const js = await checkPeerRecord(await signed(key), peerId)
    expect(js.ok).toBe(true)
    const go = await checkPeerRecord(await signed(key, { seq: BigInt(Date.now()) * 1_000_000n }), peerId)
    expect(go.ok && Math.abs(go.record.signedAt - Date.now()) < 60_000).toBe(true)
  })

  it('refuses a record for one peer signed by another key, and one asked for under another PeerId', async () => {
    const victim = await generateKeyPair('Ed25519')
    const forger = await generateKeyPair('Ed25519')
    const victimId = peerIdFromPrivateKey(victim).toString()
    expect(await checkPeerRecord(await signed(forger, { about: victim }), victimId)).toMatchObject({ ok: false, reason: 'wrong-peer' })
    expect(await checkPeerRecord(await signed(forger), victimId)).toMatchObject({ ok: false, reason: 'wrong-peer' })
  })

  it('refuses altered bytes, too many addresses, stale, future and non-time sequence numbers, and oversized records', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const good = await signed(key)
    const altered = good.slice()
    const at = altered.length - 70
    altered[at] = (altered[at] ?? 0) ^ 1
    expect((await checkPeerRecord(altered, peerId)).ok).toBe(false)
    expect(await checkPeerRecord(await signed(key, { addresses: 33 }), peerId)).toMatchObject({ ok: false, reason: 'too-many-addresses' })
    expect(await checkPeerRecord(await signed(key, { seq: BigInt(Date.now() - MAX_PEER_RECORD_AGE_MS - 1000) }), peerId)).toMatchObject({ ok: false, reason: 'stale' })
    expect(await checkPeerRecord(await signed(key, { seq: BigInt(Date.now() + 3_600_000) }), peerId)).toMatchObject({ ok: false, reason: 'future' })
    expect(await checkPeerRecord(await signed(key, { seq: 7n }), peerId)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(await checkPeerRecord(new Uint8Array(5000), peerId)).toMatchObject({ ok: false, reason: 'oversized' })
    expect(signingTime(10n ** 20n)).toBeUndefined()
  })

  it('verifies a signature once per record, and still checks who it is for and its age every time', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const bytes = await signed(key)
    const validate = vi.spyOn(RecordEnvelope.prototype, 'validate')
    try {
      expect((await checkPeerRecord(bytes, peerId)).ok).toBe(true)
      expect((await checkPeerRecord(bytes.slice(), peerId)).ok).toBe(true)
      expect(await checkPeerRecord(bytes, peerId, Date.now() + MAX_PEER_RECORD_AGE_MS + 60_000)).toMatchObject({ ok: false, reason: 'stale' })
      expect(validate).toHaveBeenCalledTimes(1)
      // Remembered per PeerId asked about: the same record offered for another peer is opened again, and refused.
      expect(await checkPeerRecord(bytes, peerIdFromPrivateKey(other).toString())).toMatchObject({ ok: false, reason: 'wrong-peer' })
      expect(validate).toHaveBeenCalledTimes(2)
      expect((await checkPeerRecord(bytes, peerId)).ok).toBe(true)
      expect(validate).toHaveBeenCalledTimes(2)
      // A bad signature is not remembered as good: checked, and refused, each time.
      const altered = bytes.slice()
      const at = altered.length - 70
      altered[at] = (altered[at] ?? 0) ^ 1
      expect((await checkPeerRecord(altered, peerId)).ok).toBe(false)
      expect((await checkPeerRecord(altered, peerId)).ok).toBe(false)
      expect(validate).toHaveBeenCalledTimes(4)
    } finally {
      validate.mockRestore()
    }
  })

  it('as kad-dht rules: the validator throws and counts, the selector takes the highest sequence number', async () => {
    const key = await generateKeyPair('Ed25519')
    const forger = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const rejected: string[] = []
    const rules = peerRecordDhtRules(reason => rejected.push(reason))
    const validate = rules.validators.mgpeer
    const select = rules.selectors.mgpeer
    if (validate == null || select == null) throw new Error('no mgpeer rules')
    const older = await signed(key, { seq: BigInt(Date.now() - 10_000) })
    const newer = await signed(key)
    await validate(peerRecordKey(peerId), newer)
    await expect(validate(peerRecordKey(peerId), await signed(forger, { about: key }))).rejects.toThrow(/signed by/)
    await expect(validate(new TextEncoder().encode('/mgpeer/not-a-peer-id'), newer)).rejects.toThrow()
    expect(rejected).toEqual(['wrong-peer', 'malformed'])
    expect(select(peerRecordKey(peerId), [older, newer, older])).toBe(1)
  })

  it('a stored record gives way only to one at least as new', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const stored = (value: Uint8Array): Uint8Array => new Libp2pRecord(peerRecordKey(peerId), value, new Date()).serialize()
    const older = stored(await signed(key, { seq: BigInt(Date.now() - 10_000) }))
    const newer = stored(await signed(key))
    expect(peerRecordReplaces(newer, older)).toBe(false)
    expect(peerRecordReplaces(older, newer)).toBe(true)
    expect(peerRecordReplaces(newer, newer)).toBe(true)
    const other = new Libp2pRecord(new TextEncoder().encode('/pk/x'), Uint8Array.of(1), new Date()).serialize()
    expect(peerRecordReplaces(other, other)).toBe(true)
  })

  it('a store full of peer records makes room by removing the stale ones, never the others', async () => {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const stored = (value: Uint8Array): Uint8Array => new Libp2pRecord(peerRecordKey(peerId), value, new Date()).serialize()
    const fresh = stored(await signed(key))
    const old = stored(await signed(key, { seq: BigInt(Date.now() - 1_000) }))
    const later = Date.now() + MAX_PEER_RECORD_AGE_MS
    expect(peerRecordExpired(fresh, Date.now())).toBe(false)
    expect(peerRecordExpired(old, later)).toBe(true)
    expect(peerRecordExpired(new Libp2pRecord(new TextEncoder().encode('/pk/x'), Uint8Array.of(1), new Date()).serialize(), later)).toBe(false)
    const store = new BoundedDhtStore({ maxRecords: 2, maxRecordsPerPeer: 10, unlimited: () => false, expired: (value, now) => peerRecordExpired(value, now + MAX_PEER_RECORD_AGE_MS) })
    store.put(new Key('/dht/record/a'), old)
    store.put(new Key('/dht/record/b'), new Libp2pRecord(new TextEncoder().encode('/pk/x'), Uint8Array.of(1), new Date()).serialize())
    store.put(new Key('/dht/record/c'), fresh) // full: the stale one makes room
    expect([store.has(new Key('/dht/record/a')), store.has(new Key('/dht/record/b')), store.has(new Key('/dht/record/c'))]).toEqual([false, true, true])
  })
})
