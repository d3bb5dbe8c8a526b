import { MAX_BLOCK_BYTES, MAX_STORE_HEADER_BYTES, PROTOCOLS, storeReplySchema, storeRequestSchema } from '@meganet/contracts'
import { FrameTooLargeError, boundedFrames } from '../net/bounded-frames.js'
import { matchesCid } from './cid.js'
import type { BoundedFrames } from '../net/bounded-frames.js'
import type { StoreErrorCode, StoreReply, StoreRequest } from '@meganet/contracts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Uint8ArrayList } from 'uint8arraylist'

export const STORE_REQUEST_TIMEOUT_MS = 30_000

/** A refusal from an anchor's store, or a broken exchange; `code` says which. */
export class StoreError extends Error {
  override readonly name = 'StoreError'
  readonly code: StoreErrorCode | 'unreachable' | 'protocol'

  constructor (code: StoreError['code'], message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

export function isStoreError (err: unknown, code?: StoreError['code']): err is StoreError {
  return err instanceof StoreError && (code == null || err.code === code)
}

/** What a store stream buffers between frames: one header and its length prefix. */
const IDLE_ALLOWANCE_BYTES = MAX_STORE_HEADER_BYTES + 16

/**
 * Reads a header frame: its length is checked before a byte of it is buffered (`too_large`),
 * and anything but UTF-8 JSON is `malformed`.
 */
export async function readHeader (frames: BoundedFrames, signal: AbortSignal): Promise<unknown> {
  return decodeHeader(await readFrame(frames, signal))
}

/** A header frame's bytes, refused as `too_large` from its length alone. */
export async function readFrame (frames: BoundedFrames, signal: AbortSignal): Promise<Uint8Array> {
  try {
    return (await frames.read({ maxLength: MAX_STORE_HEADER_BYTES, signal })).subarray()
  } catch (err) {
    if (err instanceof FrameTooLargeError) throw new StoreError('too_large', `header frame of ${err.length} bytes exceeds ${MAX_STORE_HEADER_BYTES}`, { cause: err })
    throw err
  }
}

/** A header frame's JSON; anything but UTF-8 JSON is `malformed`. */
export function decodeHeader (bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new StoreError('malformed', 'header frame is not UTF-8 JSON', { cause: err })
  }
}

/** A store request from a header frame's bytes, or a `malformed` StoreError saying what is wrong. */
export function decodeStoreRequest (bytes: Uint8Array): StoreRequest {
  const parsed = storeRequestSchema.safeParse(decodeHeader(bytes))
  if (!parsed.success) throw new StoreError('malformed', `malformed store request: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim())
  return parsed.data
}

/** A store stream's frames: bounded reads (see {@link boundedFrames}) and length-prefixed writes. */
export function storeFrames (stream: Stream): BoundedFrames {
  return boundedFrames(stream, IDLE_ALLOWANCE_BYTES)
}

export function encodeHeader (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

/**
 * One request to one anchor's store over a fresh stream. Returns the reply and, for a
 * successful get, the block (its CID verified here too: a client never trusts an anchor).
 */
export async function storeRequest (
  connectionOrNode: Connection | Libp2p, target: PeerId | undefined, request: StoreRequest, block?: Uint8Array | Uint8ArrayList,
  timeoutMs = STORE_REQUEST_TIMEOUT_MS
): Promise<{ reply: Extract<StoreReply, { ok: true }>, block?: Uint8Array }> {
  const signal = AbortSignal.timeout(timeoutMs)
  let stream: Stream
  try {
    stream = 'newStream' in connectionOrNode
      ? await connectionOrNode.newStream(PROTOCOLS.store, { signal })
      : await connectionOrNode.dialProtocol(target as PeerId, PROTOCOLS.store, { signal })
  } catch (err) {
    throw new StoreError('unreachable', `cannot open a store stream: ${(err as Error).message}`, { cause: err })
  }
  try {
    const framed = storeFrames(stream)
    await framed.write(encodeHeader(request), signal)
    // Read while writing: an anchor that refuses a put answers after the header and stops reading
    // the block, so a writer that waited for room before reading would never see the refusal.
    const replyHeader = readHeader(framed, signal)
    if (block != null) await Promise.race([framed.write(block, signal).catch(() => {}), replyHeader.catch(() => {})])
    let header: unknown
    try {
      header = await replyHeader
    } catch (err) {
      if (err instanceof StoreError) throw new StoreError('protocol', `unreadable store reply: ${err.message}`, { cause: err })
      throw err
    }
    const parsed = storeReplySchema.safeParse(header)
    if (!parsed.success) throw new StoreError('protocol', `malformed store reply: ${parsed.error.issues[0]?.message ?? ''}`)
    const reply = parsed.data
    if (!reply.ok) throw new StoreError(reply.code, reply.error)
    let data: Uint8Array | undefined
    if (request.op === 'get') {
      const announced = reply.size
      if (announced == null) throw new StoreError('protocol', 'get reply without a size')
      // The block frame must be exactly as long as announced: checked before it is buffered.
      data = (await framed.read({ maxLength: MAX_BLOCK_BYTES, signal, admit: length => length === announced })).subarray()
    }
    await stream.close({ signal }).catch(() => {})
    return { reply, ...(data != null ? { block: data } : {}) }
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    if (err instanceof StoreError) throw err
    if (err instanceof FrameTooLargeError || (err as Error).name === 'FrameRefusedError') {
      throw new StoreError('protocol', `store reply frame does not match its header: ${(err as Error).message}`, { cause: err })
    }
    throw new StoreError('unreachable', `store request ${request.op} failed: ${(err as Error).message}`, { cause: err })
  }
}

/** Fetches a block and checks it against its CID. */
export async function getBlock (node: Libp2p, target: PeerId, cid: CID): Promise<Uint8Array> {
  const { block } = await storeRequest(node, target, { op: 'get', cid: cid.toString() })
  if (block == null || !(await matchesCid(cid, block))) throw new StoreError('corrupt', `anchor ${target.toString()} returned bytes that do not match ${cid.toString()}`)
  return block
}

export async function putBlock (node: Libp2p, target: PeerId, cid: CID, bytes: Uint8Array, pin = false): Promise<number> {
  const { reply } = await storeRequest(node, target, { op: 'put', cid: cid.toString(), size: bytes.byteLength, ...(pin ? { pin } : {}) }, bytes)
  return reply.replicas ?? 0
}
