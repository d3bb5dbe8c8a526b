/**
 * The coordination plane: NATS subjects, KV bucket names and payload schemas shared by anchors
 * and the operator. Every payload is validated on receive with these schemas.
 *
 * Names are scoped by region and fleet so several fleets and regions can share one NATS
 * supercluster or join through leafnodes:
 *
 * | what | name |
 * | --- | --- |
 * | fleet membership (KV) | `meganet_members_<region>_<fleet>`, key = anchor PeerId |
 * | peer directory (KV, all fleets) | `meganet_peer_directory`, key = peer PeerId |
 * | commands to one anchor (request/reply) | `meganet.<region>.<fleet>.cmd.<anchor PeerId>` |
 */
import { z } from 'zod'
import { ANCHOR_ROLES } from './roles.js'

/** A region or fleet name: a DNS label, so it fits Kubernetes names, NATS subjects and bucket names. */
export const SCOPE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export const scopeName = z.string().regex(SCOPE_NAME_PATTERN, { message: 'must be a DNS label: lowercase letters, digits and "-", at most 63 characters' })

export interface FleetScope {
  readonly region: string
  readonly fleet: string
}

/** Largest coordination payload anchors accept; anything bigger is refused and counted. */
export const MAX_COORDINATION_PAYLOAD_BYTES = 64 * 1024

export const PEER_DIRECTORY_BUCKET = 'meganet_peer_directory'

export function membersBucket (scope: FleetScope): string {
  return `meganet_members_${scope.region}_${scope.fleet}`
}

export function commandSubject (scope: FleetScope, anchorPeerId: string): string {
  return `meganet.${scope.region}.${scope.fleet}.cmd.${anchorPeerId}`
}

/** A PeerId as text: base58btc (Qm…, 12D3Koo…) or a base32 CID; never a subject wildcard. */
const peerIdText = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{46,64}$|^b[a-z2-7]{50,120}$/, { message: 'not a PeerId' })

export const MEMBER_PHASES = ['joining', 'serving', 'draining', 'drained'] as const
export type MemberPhase = (typeof MEMBER_PHASES)[number]

export const loadReportSchema = z.strictObject({
  connectedPeers: z.number().int().min(0),
  reservations: z.number().int().min(0),
  relayedBytesPerSecond: z.number().min(0),
  storedBytes: z.number().int().min(0),
  freeDiskBytes: z.number().int().min(0),
  eventLoopLagSeconds: z.number().min(0)
})
export type LoadReport = z.infer<typeof loadReportSchema>

export const memberRecordSchema = z.strictObject({
  schema: z.literal(1),
  peerId: peerIdText,
  multiaddrs: z.array(z.string().max(512)).max(64),
  roles: z.array(z.enum(ANCHOR_ROLES)).min(1),
  region: scopeName,
  fleet: scopeName,
  pod: z.string().max(253),
  phase: z.enum(MEMBER_PHASES),
  version: z.string().max(64),
  startedAt: z.number().int(),
  updatedAt: z.number().int(),
  /** How often the record is rewritten; a record older than a few of these is stale. */
  heartbeatMs: z.number().int().min(1),
  load: loadReportSchema,
  drain: z.strictObject({
    startedAt: z.number().int(),
    reservationsLeft: z.number().int().min(0),
    /** Blocks not yet confirmed on their new anchors (storage role only). */
    blocksLeft: z.number().int().min(0).optional()
  }).optional()
})
export type MemberRecord = z.infer<typeof memberRecordSchema>

export const directoryEntrySchema = z.strictObject({
  schema: z.literal(1),
  peerId: peerIdText,
  /** The anchor holding the peer's reservation. */
  anchor: peerIdText,
  region: scopeName,
  fleet: scopeName,
  /** Where the peer can be dialled: the anchor's addresses + `/p2p-circuit/p2p/<peer>`. */
  multiaddrs: z.array(z.string().max(600)).max(64),
  updatedAt: z.number().int(),
  expiresAt: z.number().int()
})
export type DirectoryEntry = z.infer<typeof directoryEntrySchema>

export const ANCHOR_COMMANDS = ['drain', 'undrain', 'status'] as const
export type AnchorCommand = (typeof ANCHOR_COMMANDS)[number]

export const commandRequestSchema = z.strictObject({
  command: z.enum(ANCHOR_COMMANDS)
})
export type CommandRequest = z.infer<typeof commandRequestSchema>

export const commandReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), command: z.enum(ANCHOR_COMMANDS), member: memberRecordSchema }),
  z.strictObject({ ok: z.literal(false), error: z.string() })
])
export type CommandReply = z.infer<typeof commandReplySchema>

export type DecodeResult<T> = { ok: true, value: T } | { ok: false, reason: 'oversized' | 'malformed', message: string }

/** Decodes and validates a coordination payload; never throws. */
export function decodePayload<T> (schema: z.ZodType<T>, bytes: Uint8Array): DecodeResult<T> {
  if (bytes.byteLength > MAX_COORDINATION_PAYLOAD_BYTES) {
    return { ok: false, reason: 'oversized', message: `payload is ${bytes.byteLength} bytes; the limit is ${MAX_COORDINATION_PAYLOAD_BYTES}` }
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    return { ok: false, reason: 'malformed', message: `not UTF-8 JSON: ${(err as Error).message}` }
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, reason: 'malformed', message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` }
  }
  return { ok: true, value: parsed.data }
}

export function encodePayload (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}
