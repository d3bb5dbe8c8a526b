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

export const DEFAULT_CHUNK_BYTES = 1024 * 1024
/** Largest block: a 4 MiB chunk plus its encryption overhead, with room to spare. */
export const MAX_BLOCK_BYTES = 4 * 1024 * 1024 + 1024
export const MAX_STORE_HEADER_BYTES = 16 * 1024
/** CIDs in one `has`: 200 of the longest (≈ 62 characters) fit well inside one header frame. */
export const MAX_HAS_BATCH = 200

export const CID_CODECS = { raw: 0x55, json: 0x0200 } as const

const cidText = z.string().regex(/^b[a-z2-7]{20,120}$/, { message: 'not a base32 CIDv1' })
/** Not capped here: the store refuses a size over MAX_BLOCK_BYTES with `too_large`. */
const blockSize = z.number().int().min(0)

export const storeRequestSchema = z.discriminatedUnion('op', [
  /** Store a block and place it on R anchors; acknowledged once the write quorum has it. */
  z.strictObject({ op: z.literal('put'), cid: cidText, size: blockSize, pin: z.boolean().optional() }),
  /** `local` (anchors asking each other): answer from this anchor's own disk only. */
  z.strictObject({ op: z.literal('get'), cid: cidText, local: z.boolean().optional() }),
  /** `touch` (anchors only) marks the blocks as referenced, which keeps them from garbage collection. */
  z.strictObject({ op: z.literal('has'), cids: z.array(cidText).min(1).max(MAX_HAS_BATCH), touch: z.boolean().optional() }),
  /** Anchor to anchor: keep this block here; no further placement. */
  z.strictObject({ op: z.literal('replicate'), cid: cidText, size: blockSize, pin: z.boolean().optional() })
])
export type StoreRequest = z.infer<typeof storeRequestSchema>
export type StoreOp = StoreRequest['op']

export const STORE_ERROR_CODES = [
  'malformed', 'too_large', 'cid_mismatch', 'not_found', 'quota_exceeded', 'rate_limited', 'store_full',
  'quorum_failed', 'draining', 'corrupt', 'internal'
] as const
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number]

export const storeReplySchema = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    /** put: how many anchors hold the block now. */
    replicas: z.number().int().min(0).optional(),
    /** has: one answer per requested CID, in order. */
    has: z.array(z.boolean()).optional(),
    /** get: the size of the block frame that follows. */
    size: blockSize.optional()
  }),
  z.strictObject({ ok: z.literal(false), code: z.enum(STORE_ERROR_CODES), error: z.string().max(1024) })
])
export type StoreReply = z.infer<typeof storeReplySchema>

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
