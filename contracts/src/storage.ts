/**
 * Block storage on anchors (`/meganet/store/1.0.0`) and the file format peers write.
 *
 * Wire: every frame is length-prefixed (unsigned varint, then the bytes). A request is one JSON
 * header frame (≤ {@link MAX_STORE_HEADER_BYTES}); `put` and `replicate` follow it with one
 * block frame (≤ {@link MAX_BLOCK_BYTES}). The reply is one JSON header frame; a successful
 * `get` follows it with the block frame. One request per stream.
 *
 * Blocks are addressed by CIDv1 with a sha2-256 multihash: codec `raw` for encrypted chunks,
 * codec `json` for manifests. Anchors verify the CID of every block they receive and read.
 */
import { z } from 'zod'
import { peerIdText, signedEnvelopeSchema } from './coordination.js'

export const DEFAULT_CHUNK_BYTES = 1024 * 1024
/** Largest block: a 4 MiB chunk plus its encryption overhead, with room to spare. */
export const MAX_BLOCK_BYTES = 4 * 1024 * 1024 + 1024
export const MAX_STORE_HEADER_BYTES = 16 * 1024
/** CIDs in one `has`: 200 of the longest (≈ 62 characters) fit well inside one header frame. */
export const MAX_HAS_BATCH = 200
/** Owners that may hold a lease on one block at once. */
export const MAX_LEASES_PER_BLOCK = 32

export const CID_CODECS = { raw: 0x55, json: 0x0200 } as const

const cidText = z.string().regex(/^b[a-z2-7]{20,120}$/, { message: 'not a base32 CIDv1' })
/** Not capped here: the store refuses a size over MAX_BLOCK_BYTES with `too_large`. */
const blockSize = z.number().int().min(0)

/**
 * A pin is a lease: its owner (the PeerId that asked for it) keeps the block, and a pinned
 * manifest keeps the chunks it lists, until `expiresAt` unless the owner renews it (`pin` again)
 * or releases it (`unpin`). The bytes under an owner's leases count against its quota.
 */
export const leaseSchema = z.strictObject({ owner: peerIdText, expiresAt: z.number().int().min(0) })
export type Lease = z.infer<typeof leaseSchema>

export const storeRequestSchema = z.discriminatedUnion('op', [
  /** Store a block and place it on R anchors; acknowledged once the write quorum has it. `pin` leases it to the requester. */
  z.strictObject({ op: z.literal('put'), cid: cidText, size: blockSize, pin: z.boolean().optional() }),
  /** `local` (anchors asking each other): answer from this anchor's own disk only. */
  z.strictObject({ op: z.literal('get'), cid: cidText, local: z.boolean().optional() }),
  /** `touch` (anchors only) marks the blocks as referenced, which keeps them from garbage collection. */
  z.strictObject({ op: z.literal('has'), cids: z.array(cidText).min(1).max(MAX_HAS_BATCH), touch: z.boolean().optional() }),
  /**
   * Anchor to anchor: keep this block here; no further placement. `leases` are the block's
   * leases (repair carries them along); `pin` is what anchors before leases sent.
   */
  z.strictObject({
    op: z.literal('replicate'), cid: cidText, size: blockSize, pin: z.boolean().optional(),
    leases: z.array(leaseSchema).max(MAX_LEASES_PER_BLOCK).optional()
  }),
  /** Lease (or renew the lease on) a block already stored, for the requester. */
  z.strictObject({ op: z.literal('pin'), cid: cidText }),
  /** Release the requester's lease on a block; nothing happens to other owners' leases. */
  z.strictObject({ op: z.literal('unpin'), cid: cidText }),
  /** Anchor to anchor: set `owner`'s lease on a block held here (`expiresAt` 0 releases it). */
  z.strictObject({ op: z.literal('lease'), cid: cidText, lease: leaseSchema }),
  /** Present a storage grant (a signed {@link StorageGrant}) that lifts the requester's limits. */
  z.strictObject({ op: z.literal('grant'), token: signedEnvelopeSchema })
])
export type StoreRequest = z.infer<typeof storeRequestSchema>
export type StoreOp = StoreRequest['op']

export const STORE_ERROR_CODES = [
  'malformed', 'too_large', 'cid_mismatch', 'not_found', 'quota_exceeded', 'rate_limited', 'store_full',
  'quorum_failed', 'draining', 'corrupt', 'forbidden', 'internal'
] as const
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number]

export const storeReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    /**
     * put: how many anchors had stored the block when the answer was sent: the write quorum (the
     * answer does not wait for the rest of the R copies, which land or are repaired later).
     */
    replicas: z.number().int().min(0).optional(),
    /** has: one answer per requested CID, in order. */
    has: z.array(z.boolean()).optional(),
    /** get: the size of the block frame that follows. */
    size: blockSize.optional(),
    /** put with pin, and pin: when the requester's lease ends unless renewed. */
    leaseExpiresAt: z.number().int().optional(),
    /** grant: until when the grant applies. */
    grantExpiresAt: z.number().int().optional()
  }),
  z.strictObject({ ok: z.literal(false), code: z.enum(STORE_ERROR_CODES), error: z.string().max(1024) })
])
export type StoreReply = z.infer<typeof storeReplySchema>

/**
 * A storage grant: an operator-configured key lifts the limits of one PeerId until `expiresAt`
 * (the base for paid storage). Sent as the payload of a signed envelope (domain
 * `storageGrant`); a null limit means unlimited.
 */
export const storageGrantSchema = z.strictObject({
  holder: peerIdText,
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
  /** Upload bytes per 24 hours through one anchor. */
  bytesPerDay: z.number().int().min(0).nullable(),
  /** Bytes the holder may keep under leases through one anchor. */
  leaseBytes: z.number().int().min(0).nullable()
})
export type StorageGrant = z.infer<typeof storageGrantSchema>
/** The longest a grant may run; renewals are cheap. */
export const MAX_STORAGE_GRANT_LIFETIME_MS = 400 * 24 * 60 * 60 * 1000

/**
 * A file's manifest, stored as a `json` block. Anchors can read the chunk list (for garbage
 * collection and repair) but not the file: names, sizes and the key live only in `meta`,
 * encrypted with the file key.
 */
export const manifestSchema = z.strictObject({
  v: z.literal(1),
  chunks: z.array(z.strictObject({ cid: cidText, size: blockSize })).max(1_000_000),
  /** base64url of nonce ‖ AES-256-GCM(JSON FileMeta) ‖ tag. */
  meta: z.string().max(8192)
})
export type Manifest = z.infer<typeof manifestSchema>

export const fileMetaSchema = z.strictObject({
  name: z.string().max(1024),
  size: z.number().int().min(0),
  chunkSize: z.number().int().min(1)
})
export type FileMeta = z.infer<typeof fileMetaSchema>

/** `meganet://<manifest CID>#<base64url file key>`: the key never reaches an anchor. */
export const LINK_SCHEME = 'meganet:'
