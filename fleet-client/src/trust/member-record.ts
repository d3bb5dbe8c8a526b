import { MAX_CLOCK_SKEW_MS, memberRecordSchema } from '@meganet/contracts'
import { openEnvelope, openEnvelopeBytes, refused, signEnvelope } from './signed-envelope.js'
import type { Verified } from './signed-envelope.js'
import type { FleetScope, MemberRecord, SignedEnvelope } from '@meganet/contracts'
import type { SigningKey } from './ed25519.js'

export interface MemberRecordCheck {
  /** The fleet whose bucket the record came from: a record of another fleet does not count here. */
  readonly scope: FleetScope
  /** A record older than this is stale. */
  readonly ttlMs: number
  /** The KV key it was stored under, which must be its PeerId. */
  readonly key?: string
  readonly now?: number
}

/** Signs an anchor's membership record with its own key (the record's PeerId). */
export async function signMemberRecord (key: SigningKey, record: MemberRecord): Promise<SignedEnvelope> {
  return await signEnvelope(key, 'member', record)
}

/**
 * Verifies a membership record: signed by the PeerId it names (and is stored under), for this
 * fleet, written no later than now (plus clock skew) and no earlier than the TTL.
 */
export function verifyMemberRecord (input: Uint8Array | SignedEnvelope, check: MemberRecordCheck): Verified<MemberRecord> {
  const opened = input instanceof Uint8Array
    ? openEnvelopeBytes(input, 'member', memberRecordSchema)
    : openEnvelope(input, 'member', memberRecordSchema)
  if (!opened.ok) return opened
  const record = opened.value
  const now = check.now ?? Date.now()
  if (opened.signer !== record.peerId) return refused('mismatch', `record of ${record.peerId} signed by ${opened.signer}`)
  if (check.key != null && check.key !== record.peerId) return refused('mismatch', `record of ${record.peerId} stored under key ${check.key}`)
  if (record.region !== check.scope.region || record.fleet !== check.scope.fleet) {
    return refused('mismatch', `record of fleet ${record.region}/${record.fleet} in the bucket of ${check.scope.region}/${check.scope.fleet}`)
  }
  if (record.updatedAt > now + MAX_CLOCK_SKEW_MS) return refused('future', `record written ${record.updatedAt - now} ms in the future`)
  if (now - record.updatedAt > check.ttlMs) return refused('stale', `record ${now - record.updatedAt} ms old; the TTL is ${check.ttlMs} ms`)
  return opened
}
