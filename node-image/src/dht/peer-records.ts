import {
  MAX_PEER_RECORD_ADDRESSES, MAX_PEER_RECORD_AGE_MS, MAX_PEER_RECORD_BYTES, PEER_RECORD_CLOCK_SKEW_MS, PEER_RECORD_NAMESPACE, peerRecordKeyText
} from '@meganet/contracts'
import { peerIdFromCID, peerIdFromString } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { Libp2pRecord } from '@libp2p/record'
import { equals, fromString as bytesFromString, toString as bytesToString } from 'uint8arrays'
import type { PeerRecordRejection } from '@meganet/contracts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A peer's own signed record of where it can be reached, checked. */
export interface VerifiedPeerRecord {
  readonly peerId: string
  readonly seq: bigint
  /** When the peer signed it (its sequence number read as a timestamp), ms since the epoch. */
  readonly signedAt: number
  readonly multiaddrs: Multiaddr[]
  /** The envelope as signed, to pass on unchanged. */
  readonly bytes: Uint8Array
}

export type PeerRecordCheck = { ok: true, record: VerifiedPeerRecord } | RejectedPeerRecord
type RejectedPeerRecord = { ok: false, reason: PeerRecordRejection, message: string }

export class PeerRecordError extends Error {
  override readonly name = 'PeerRecordError'
  readonly reason: PeerRecordRejection
  constructor (reason: PeerRecordRejection, message: string) {
    super(message)
    this.reason = reason
  }
}

/** The DHT key of a peer's record. */
export function peerRecordKey (peerId: string): Uint8Array {
  return bytesFromString(peerRecordKeyText(peerId))
}

/** The PeerId a DHT key names, if it is a peer record key. */
export function peerOfRecordKey (key: Uint8Array): string | undefined {
  const text = bytesToString(key)
  const prefix = `/${PEER_RECORD_NAMESPACE}/`
  return text.startsWith(prefix) ? text.slice(prefix.length) : undefined
}

/**
 * Sequence numbers are the signing time: milliseconds in js-libp2p, nanoseconds in go-libp2p
 * (microseconds accepted too). Anything too small to be a time since 2001 is not one.
 */
export function signingTime (seq: bigint): number | undefined {
  if (seq >= 10n ** 18n * 10n) return undefined
  if (seq >= 10n ** 17n) return Number(seq / 1_000_000n)
  if (seq >= 10n ** 14n) return Number(seq / 1_000n)
  if (seq >= 10n ** 12n) return Number(seq)
  return undefined
}

/** What a valid signature and payload say, before the checks that depend on who asked and when. */
interface SignedPeerRecord { readonly signer: string, readonly record: PeerRecord }

/**
 * The envelope whose signature last verified for each PeerId asked about, with its bytes; the
 * oldest is forgotten first. By PeerId and compared byte for byte, not keyed by the envelope's
 * bytes: encoding those to a string key on every check was a join's largest allocation in our code.
 */
const VERIFIED_ENVELOPES = 1_024
const verifiedEnvelopes = new Map<string, { readonly bytes: Uint8Array, readonly signed: SignedPeerRecord }>()

/**
 * Checks a record against the PeerId it is for (the one asked for, or the one its DHT key
 * names), as the contract in `@meganet/contracts` peer-records describes. An anchor sees the
 * same record many times (each identify, each refresh, each lookup), so a signature that verified
 * is remembered by the envelope's bytes; who it is for and its age are checked every time.
 */
export async function checkPeerRecord (bytes: Uint8Array, peerId: string, now = Date.now()): Promise<PeerRecordCheck> {
  const fail = (reason: PeerRecordRejection, message: string): PeerRecordCheck => ({ ok: false, reason, message })
  let asked: ReturnType<typeof peerIdFromString>
  try {
    asked = peerIdFromString(peerId)
  } catch {
    return fail('malformed', `${peerId.slice(0, 100)} is not a PeerId`)
  }
  if (bytes.byteLength > MAX_PEER_RECORD_BYTES) return fail('oversized', `record of ${bytes.byteLength} bytes; the limit is ${MAX_PEER_RECORD_BYTES}`)
  const known = verifiedEnvelopes.get(peerId)
  let signed = known != null && equals(known.bytes, bytes) ? known.signed : undefined
  if (signed == null) {
    const opened = await openSignedRecord(bytes)
    if (!opened.ok) return opened
    signed = opened.signed
    verifiedEnvelopes.delete(peerId)
    if (verifiedEnvelopes.size >= VERIFIED_ENVELOPES) verifiedEnvelopes.delete(verifiedEnvelopes.keys().next().value as string)
    // A copy: the caller's buffer may be reused.
    verifiedEnvelopes.set(peerId, { bytes: bytes.slice(), signed })
  }
  const { signer, record } = signed
  if (signer !== peerId || !record.peerId.equals(asked)) {
    return fail('wrong-peer', `record for ${record.peerId.toString()} signed by ${signer}, asked for ${peerId}`)
  }
  if (record.multiaddrs.length > MAX_PEER_RECORD_ADDRESSES) return fail('too-many-addresses', `${record.multiaddrs.length} addresses; the limit is ${MAX_PEER_RECORD_ADDRESSES}`)
  const signedAt = signingTime(record.seqNumber)
  if (signedAt == null) return fail('malformed', `sequence number ${record.seqNumber} is not a signing time`)
  if (signedAt > now + PEER_RECORD_CLOCK_SKEW_MS) return fail('future', `signed at ${new Date(signedAt).toISOString()}, in the future`)
  if (signedAt < now - MAX_PEER_RECORD_AGE_MS) return fail('stale', `signed at ${new Date(signedAt).toISOString()}, more than ${MAX_PEER_RECORD_AGE_MS / 3_600_000} h ago`)
  return { ok: true, record: { peerId, seq: record.seqNumber, signedAt, multiaddrs: [...record.multiaddrs], bytes } }
}

/** Parses an envelope, verifies its signature and reads the peer record inside. */
async function openSignedRecord (bytes: Uint8Array): Promise<{ ok: true, signed: SignedPeerRecord } | RejectedPeerRecord> {
  const fail = (reason: PeerRecordRejection, message: string): RejectedPeerRecord => ({ ok: false, reason, message })
  let envelope: RecordEnvelope
  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
  } catch (err) {
    return fail('malformed', `not a signed envelope: ${(err as Error).message}`)
  }
  if (!equals(envelope.payloadType, PeerRecord.CODEC)) return fail('malformed', 'the envelope does not hold a libp2p peer record')
  let valid = false
  try {
    valid = await envelope.validate(PeerRecord.DOMAIN)
  } catch {
    valid = false
  }
  if (!valid) return fail('bad-signature', 'the envelope signature does not verify')
  let record: PeerRecord
  try {
    record = PeerRecord.createFromProtobuf(envelope.payload)
  } catch (err) {
    return fail('malformed', `not a peer record: ${(err as Error).message}`)
  }
  let signer: string
  try {
    signer = peerIdFromCID(envelope.publicKey.toCID()).toString()
  } catch {
    return fail('malformed', 'the envelope key is not a libp2p key')
  }
  return { ok: true, signed: { signer, record } }
}

/** A checked record, or a {@link PeerRecordError}. */
export async function verifyPeerRecord (bytes: Uint8Array, peerId: string, now = Date.now()): Promise<VerifiedPeerRecord> {
  const checked = await checkPeerRecord(bytes, peerId, now)
  if (!checked.ok) throw new PeerRecordError(checked.reason, checked.message)
  return checked.record
}

/**
 * kad-dht's validator and selector for the `mgpeer` namespace. kad-dht runs the validator on
 * every record it is asked to store and on every record a lookup receives; `onRejected` counts
 * what it throws out.
 */
export interface PeerRecordDhtRules {
  readonly validators: Record<string, (key: Uint8Array, value: Uint8Array) => Promise<void>>
  readonly selectors: Record<string, (key: Uint8Array, values: Uint8Array[]) => number>
}

export function peerRecordDhtRules (onRejected: (reason: PeerRecordRejection) => void = () => {}): PeerRecordDhtRules {
  return {
    validators: {
      [PEER_RECORD_NAMESPACE]: async (key, value) => {
        const peerId = peerOfRecordKey(key)
        let checked: PeerRecordCheck
        try {
          checked = peerId == null ? { ok: false, reason: 'malformed', message: 'not a peer record key' } : await checkPeerRecord(value, peerId)
        } catch (err) {
          checked = { ok: false, reason: 'malformed', message: `the key does not name a PeerId: ${(err as Error).message}` }
        }
        if (!checked.ok) {
          onRejected(checked.reason)
          throw new PeerRecordError(checked.reason, checked.message)
        }
      }
    },
    selectors: {
      // Only records the validator passed get here: the highest sequence number is the newest.
      [PEER_RECORD_NAMESPACE]: (_key, values) => {
        let best = 0
        let bestSeq = -1n
        values.forEach((value, index) => {
          const seq = sequenceOf(value)
          if (seq != null && seq > bestSeq) { best = index; bestSeq = seq }
        })
        return best
      }
    }
  }
}

/** The sequence number of an envelope already checked, without checking it again. */
export function sequenceOf (bytes: Uint8Array): bigint | undefined {
  try {
    return PeerRecord.createFromProtobuf(RecordEnvelope.createFromProtobuf(bytes).payload).seqNumber
  } catch {
    return undefined
  }
}

/**
 * For the DHT's datastore: a stored peer record gives way only to one with a sequence number
 * at least as high, so nobody can roll a peer back to an older (still validly signed) record.
 * Other records (kad-dht's own) always may be replaced.
 */
export function peerRecordReplaces (stored: Uint8Array, incoming: Uint8Array): boolean {
  let old: Libp2pRecord
  let next: Libp2pRecord
  try {
    old = Libp2pRecord.deserialize(stored)
    next = Libp2pRecord.deserialize(incoming)
  } catch {
    return true
  }
  if (peerOfRecordKey(old.key) == null) return true
  const oldSeq = sequenceOf(old.value)
  const nextSeq = sequenceOf(next.value)
  return oldSeq == null || (nextSeq != null && nextSeq >= oldSeq)
}

/** For the DHT's datastore sweep: a stored peer record signed more than {@link MAX_PEER_RECORD_AGE_MS} ago. */
export function peerRecordExpired (stored: Uint8Array, now: number): boolean {
  let record: Libp2pRecord
  try {
    record = Libp2pRecord.deserialize(stored)
  } catch {
    return false
  }
  if (peerOfRecordKey(record.key) == null) return false
  const seq = sequenceOf(record.value)
  const signedAt = seq == null ? undefined : signingTime(seq)
  return signedAt == null || signedAt < now - MAX_PEER_RECORD_AGE_MS
}
