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
 * | peer directory (KV, all fleets) | `meganet_peer_directory`, key = `<peer PeerId>.<anchor PeerId>` |
 * | commands to one anchor (request/reply) | `meganet.<region>.<fleet>.cmd.<anchor PeerId>` |
 *
 * NATS is a transport, not an authority: every membership record and directory entry travels in
 * a {@link SignedEnvelope} signed by the anchor that wrote it, and every command in one signed by
 * an operator key the anchor was configured to trust. Readers verify the signature against the
 * PeerId the record claims and drop records from the future or past their lifetime.
 */
import { z } from 'zod'
import { ANCHOR_ROLES } from './roles.js'
import { MAX_PEERED_FLEETS, MAX_PEERING_URL_LENGTH } from './bootstrap-list.js'

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

/**
 * How far a timestamp may lie ahead of the reader's clock (fleets run NTP; this covers its
 * error and little else). A record "written" further in the future is forged or broken.
 */
export const MAX_CLOCK_SKEW_MS = 5_000
/** A command is valid for at most this long after it was issued (it is answered within seconds). */
export const MAX_COMMAND_LIFETIME_MS = 60_000
export const DEFAULT_COMMAND_LIFETIME_MS = 30_000
/** A directory entry may promise at most this long ahead (a reservation's longest TTL, with room). */
export const MAX_DIRECTORY_ENTRY_LIFETIME_MS = 24 * 60 * 60 * 1000

/** How often an anchor rewrites its membership record (with its load). */
export const DEFAULT_HEARTBEAT_MS = 5_000
/** A record not rewritten for this long is gone: the anchor crashed or lost NATS. */
export const DEFAULT_MEMBER_TTL_MS = 15_000
/** JetStream replicas of the coordination buckets. */
export const DEFAULT_KV_REPLICAS = 1
/** go-libp2p's relay default; a directory entry lasts as long as the reservation it names. */
export const DEFAULT_RESERVATION_TTL_MS = 60 * 60 * 1000

/** What a fleet's coordination buckets are made with; whoever creates them (the operator, or an anchor on an open NATS) uses these. */
export interface BucketSettings {
  readonly replicas: number
  readonly memberTtlMs: number
  readonly reservationTtlMs: number
}

export const DEFAULT_BUCKET_SETTINGS: BucketSettings = {
  replicas: DEFAULT_KV_REPLICAS, memberTtlMs: DEFAULT_MEMBER_TTL_MS, reservationTtlMs: DEFAULT_RESERVATION_TTL_MS
}

/** A KV bucket's options: one value per key, kept for `ttlMs` after its last write. */
export interface BucketOptions {
  readonly history: number
  readonly replicas: number
  readonly ttl: number
}

/** A bucket's name and the options it is made with. */
export interface BucketSpec {
  readonly name: string
  readonly options: BucketOptions
}

/** The fleet's buckets and their options: its membership, and the peer directory all fleets share. */
export function fleetBuckets (scope: FleetScope, settings: BucketSettings = DEFAULT_BUCKET_SETTINGS): { readonly members: BucketSpec, readonly directory: BucketSpec } {
  return {
    members: { name: membersBucket(scope), options: { history: 1, replicas: settings.replicas, ttl: settings.memberTtlMs } },
    directory: { name: PEER_DIRECTORY_BUCKET, options: { history: 1, replicas: settings.replicas, ttl: settings.reservationTtlMs + settings.memberTtlMs } }
  }
}

export function membersBucket (scope: FleetScope): string {
  return `meganet_members_${scope.region}_${scope.fleet}`
}

export function commandSubject (scope: FleetScope, anchorPeerId: string): string {
  return `meganet.${scope.region}.${scope.fleet}.cmd.${anchorPeerId}`
}

/** The directory key of `peerId`'s entry written by `anchorPeerId`: an anchor may write only its own. */
export function directoryKey (peerId: string, anchorPeerId: string): string {
  return `${peerId}.${anchorPeerId}`
}

/** A PeerId as text: base58btc (Qm…, 12D3Koo…) or a base32 CID; never a subject wildcard. */
export const peerIdText = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{46,64}$|^b[a-z2-7]{50,120}$/, { message: 'not a PeerId' })

/** The PeerId of an Ed25519 key (12D3KooW…): the only kind that signs records, commands and bootstrap lists. */
export const ED25519_PEER_ID_PATTERN = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/

/** What a signature is for; the domain is signed with the payload, so a signature for one never passes as another. */
export const SIGNATURE_DOMAINS = {
  member: 'meganet-member:v1:',
  directory: 'meganet-directory:v1:',
  command: 'meganet-command:v1:',
  storageGrant: 'meganet-storage-grant:v1:'
} as const
export type SignatureDomain = keyof typeof SIGNATURE_DOMAINS

/**
 * A payload signed by a libp2p Ed25519 key: `signature` is Ed25519 over the UTF-8 bytes of
 * `SIGNATURE_DOMAINS[kind] + payload`, and `signer` is the PeerId whose embedded public key
 * checks it. `payload` is JSON text, parsed only after the signature held.
 */
export const signedEnvelopeSchema = z.strictObject({
  signer: peerIdText,
  payload: z.string().max(MAX_COORDINATION_PAYLOAD_BYTES),
  /** base64url of the 64-byte Ed25519 signature. */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, { message: 'not a base64url Ed25519 signature' })
})
export type SignedEnvelope = z.infer<typeof signedEnvelopeSchema>

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

/** The longest reason an anchor reports for a peered fleet it could not fetch or verify; longer ones are cut. */
export const MAX_PEERING_ERROR_LENGTH = 256

/**
 * How one peered fleet (another operator's, `peering`) looks from the reporting anchor: what
 * its operator aggregates into the fleet's `status.peering`. Sizes are bounded so that the
 * record stays far below {@link MAX_COORDINATION_PAYLOAD_BYTES}; nothing secret is in it.
 */
export const peeringReportSchema = z.strictObject({
  bootstrapUrl: z.string().max(MAX_PEERING_URL_LENGTH),
  /** Anchors in its last verified list. */
  anchors: z.number().int().min(0),
  /** Of those, connected from this anchor now. */
  connected: z.number().int().min(0),
  /** When its list was last fetched and verified against the pins (ms since the epoch); null: none held. */
  verifiedAt: z.number().int().nullable(),
  /** Why the last fetch or verification failed; null after a success. */
  lastError: z.string().max(MAX_PEERING_ERROR_LENGTH).nullable()
})
export type PeeringReport = z.infer<typeof peeringReportSchema>

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
  }).optional(),
  /**
   * Other operators' fleets the anchor peers with, one entry each; absent when it peers with
   * none (so records without peering stay readable by readers from before this field).
   */
  peering: z.array(peeringReportSchema).max(MAX_PEERED_FLEETS).optional()
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

/**
 * A command, sent as the payload of a {@link SignedEnvelope} signed by an operator key. It names
 * the one anchor and fleet it is for and a short validity window; `nonce` makes each one unique so
 * an anchor can refuse a replay.
 */
export const commandRequestSchema = z.strictObject({
  command: z.enum(ANCHOR_COMMANDS),
  anchor: peerIdText,
  region: scopeName,
  fleet: scopeName,
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, { message: 'not a nonce (16-64 base64url characters)' })
})
export type CommandRequest = z.infer<typeof commandRequestSchema>

/** The reply carries the anchor's membership record signed by the anchor, so a reader can check it too. */
export const commandReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), command: z.enum(ANCHOR_COMMANDS), member: signedEnvelopeSchema }),
  z.strictObject({ ok: z.literal(false), error: z.string().max(1024) })
])
export type CommandReply = z.infer<typeof commandReplySchema>

/** Why a coordination payload was refused (the `reason` label of the rejection metric). */
export const REJECTION_REASONS = ['oversized', 'malformed', 'bad_signature', 'untrusted', 'stale', 'future', 'replayed', 'mismatch'] as const
export type RejectionReason = (typeof REJECTION_REASONS)[number]

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
