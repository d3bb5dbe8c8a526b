/** Payloads of the anchor↔peer protocols (`/meganet/lookup/1.0.0`, `/meganet/notice/1.0.0`). */
import { z } from 'zod'

export const MAX_PEER_MESSAGE_BYTES = 16 * 1024

export const lookupRequestSchema = z.strictObject({
  peerId: z.string().max(128),
  /** Anchor to anchor: answer from this anchor's own reservations only (no directory, no asking on). */
  local: z.boolean().optional()
})
export type LookupRequest = z.infer<typeof lookupRequestSchema>

export const LOOKUP_SOURCES = ['local', 'directory'] as const

export const lookupReplySchema = z.union([
  z.strictObject({ found: z.literal(true), source: z.enum(LOOKUP_SOURCES), multiaddrs: z.array(z.string().max(600)).max(64) }),
  /**
   * Found in the DHT directory: the peer's own signed record (base64url of the envelope), which
   * the asker verifies against the PeerId it asked for, so not even its anchor can forge it.
   */
  z.strictObject({ found: z.literal(true), source: z.literal('record'), record: z.string().max(8192) }),
  z.strictObject({ found: z.literal(false) })
])
export type LookupReply = z.infer<typeof lookupReplySchema>

/** Sent by a draining anchor to the peers it relays for: reserve elsewhere, here are anchors that serve. */
export const moveNoticeSchema = z.strictObject({
  type: z.literal('move'),
  anchors: z.array(z.string().max(600)).max(64)
})
export type MoveNotice = z.infer<typeof moveNoticeSchema>
