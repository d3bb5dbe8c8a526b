import { verifyMemberRecord } from './trust/member-record.js'
import type { FleetScope, MemberRecord, RejectionReason } from '@meganet/contracts'

export interface MemberEntry {
  readonly key: string
  readonly operation: 'PUT' | 'DEL' | 'PURGE'
  readonly value: Uint8Array
}

export type MemberChange =
  | { readonly type: 'upsert', readonly member: MemberRecord }
  | { readonly type: 'remove', readonly peerId: string }
  | { readonly type: 'rejected', readonly key: string, readonly reason: RejectionReason, readonly message: string }

/** How long past a member's heartbeat a delete waits for a newer record before it counts. */
const DELETE_GRACE_MS = 1_000

/**
 * The live member list of one fleet, built from the membership bucket's watch. Only records
 * signed by the PeerId they name, for this fleet, count: anyone who can write to NATS can put
 * bytes in the bucket, but not sign as an anchor. A record counts while it is fresher than the
 * TTL (and not from the future): servers without KV delete markers never announce that a
 * crashed anchor's record expired, so `sweep` drops stale ones by their own timestamps.
 */
export class MemberView {
  private readonly members = new Map<string, MemberRecord>()
  /** Deletes heard of, by key: unsigned, so acted on only if the member then stops writing. */
  private readonly deleted = new Map<string, number>()
  private readonly ttlMs: number
  private readonly scope: FleetScope

  constructor (ttlMs: number, scope: FleetScope) {
    this.ttlMs = ttlMs
    this.scope = scope
  }

  apply (entry: MemberEntry, now = Date.now()): MemberChange | undefined {
    if (entry.operation !== 'PUT') {
      // Anyone who reaches the bucket can delete a key, and a delete carries no signature. A
      // member that left stops writing, so it goes once a beat passes without a newer record;
      // one whose key was deleted by someone else writes again and stays.
      if (this.members.has(entry.key)) this.deleted.set(entry.key, now)
      return undefined
    }
    const verified = verifyMemberRecord(entry.value, { scope: this.scope, ttlMs: this.ttlMs, key: entry.key, now })
    if (!verified.ok) {
      // A stale record is not an attack: the anchor stopped writing. Anything else is refused, and
      // a forgery written over a real member's key does not remove the real record we hold.
      if (verified.reason === 'stale') return this.members.delete(entry.key) ? { type: 'remove', peerId: entry.key } : undefined
      return { type: 'rejected', key: entry.key, reason: verified.reason, message: verified.message }
    }
    const previous = this.members.get(entry.key)
    // An older record (a replay of one the anchor signed earlier) never replaces a newer one.
    if (previous != null && previous.updatedAt > verified.value.updatedAt) {
      return { type: 'rejected', key: entry.key, reason: 'replayed', message: `record of ${entry.key} older than the one held` }
    }
    this.members.set(entry.key, verified.value)
    // A record heard after the delete (the watch delivers in order) means the anchor still writes.
    this.deleted.delete(entry.key)
    return { type: 'upsert', member: verified.value }
  }

  /**
   * Drops records older than the TTL, and deleted members that wrote nothing newer for a beat
   * (plus a second) after the delete; returns the PeerIds dropped.
   */
  sweep (now = Date.now()): string[] {
    const dropped: string[] = []
    for (const [peerId, member] of this.members) {
      const deletedAt = this.deleted.get(peerId)
      const left = deletedAt != null && now - deletedAt >= member.heartbeatMs + DELETE_GRACE_MS
      if (left || now - member.updatedAt > this.ttlMs) {
        this.members.delete(peerId)
        this.deleted.delete(peerId)
        dropped.push(peerId)
      }
    }
    for (const key of this.deleted.keys()) if (!this.members.has(key)) this.deleted.delete(key)
    return dropped
  }

  list (): MemberRecord[] {
    return [...this.members.values()]
  }

  get (peerId: string): MemberRecord | undefined {
    return this.members.get(peerId)
  }

  get size (): number {
    return this.members.size
  }
}
