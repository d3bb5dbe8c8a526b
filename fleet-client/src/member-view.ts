import { decodePayload, memberRecordSchema } from '@meganet/contracts'
import type { DecodeResult, MemberRecord } from '@meganet/contracts'

export interface MemberEntry {
  readonly key: string
  readonly operation: 'PUT' | 'DEL' | 'PURGE'
  readonly value: Uint8Array
}

export type MemberChange =
  | { readonly type: 'upsert', readonly member: MemberRecord }
  | { readonly type: 'remove', readonly peerId: string }
  | { readonly type: 'rejected', readonly key: string, readonly reason: 'malformed' | 'oversized', readonly message: string }

/**
 * The live member list of one fleet, built from the membership bucket's watch. A record counts
 * while it is fresher than the TTL: servers without KV delete markers never announce that a
 * crashed anchor's record expired, so `sweep` drops stale ones by their own timestamps.
 */
export class MemberView {
  private readonly members = new Map<string, MemberRecord>()
  private readonly ttlMs: number

  constructor (ttlMs: number) {
    this.ttlMs = ttlMs
  }

  apply (entry: MemberEntry, now = Date.now()): MemberChange | undefined {
    if (entry.operation !== 'PUT') {
      return this.members.delete(entry.key) ? { type: 'remove', peerId: entry.key } : undefined
    }
    const decoded: DecodeResult<MemberRecord> = decodePayload(memberRecordSchema, entry.value)
    if (!decoded.ok) return { type: 'rejected', key: entry.key, reason: decoded.reason, message: decoded.message }
    if (decoded.value.peerId !== entry.key) {
      return { type: 'rejected', key: entry.key, reason: 'malformed', message: `record for ${decoded.value.peerId} stored under key ${entry.key}` }
    }
    if (this.isStale(decoded.value, now)) {
      return this.members.delete(entry.key) ? { type: 'remove', peerId: entry.key } : undefined
    }
    this.members.set(entry.key, decoded.value)
    return { type: 'upsert', member: decoded.value }
  }

  /** Drops records older than the TTL; returns the PeerIds dropped. */
  sweep (now = Date.now()): string[] {
    const dropped: string[] = []
    for (const [peerId, member] of this.members) {
      if (this.isStale(member, now)) {
        this.members.delete(peerId)
        dropped.push(peerId)
      }
    }
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

  private isStale (member: MemberRecord, now: number): boolean {
    return now - member.updatedAt > this.ttlMs
  }
}
