import { MAX_BLOCK_BYTES, MAX_STORE_HEADER_BYTES, PROTOCOLS, storeReplySchema } from '@meganet/contracts'
import { lpStream } from '@libp2p/utils'
import { matchesCid } from './cid.js'
import type { StoreErrorCode, StoreReply, StoreRequest } from '@meganet/contracts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

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

type Framed = ReturnType<typeof lpStream<Stream>>

export async function readHeader (framed: Framed, signal: AbortSignal): Promise<unknown> {
  const frame = await framed.read({ signal })
  if (frame.byteLength > MAX_STORE_HEADER_BYTES) throw new StoreError('protocol', `header frame of ${frame.byteLength} bytes exceeds ${MAX_STORE_HEADER_BYTES}`)
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray()))
  } catch (err) {
    throw new StoreError('protocol', 'header frame is not UTF-8 JSON', { cause: err })
  }
}

export function storeFrames (stream: Stream): Framed {
  return lpStream(stream, { maxDataLength: MAX_BLOCK_BYTES })
}

export function encodeHeader (value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value))
}

/**
 * One request to one anchor's store over a fresh stream. Returns the reply and, for a
 * successful get, the block (its CID verified here too: a client never trusts an anchor).
 */
export async function storeRequest (
  connectionOrNode: Connection | Libp2p, target: PeerId | undefined, request: StoreRequest, block?: Uint8Array,
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
    await framed.write(encodeHeader(request), { signal })
    if (block != null) await framed.write(block, { signal })
    const parsed = storeReplySchema.safeParse(await readHeader(framed, signal))
    if (!parsed.success) throw new StoreError('protocol', `malformed store reply: ${parsed.error.issues[0]?.message ?? ''}`)
    const reply = parsed.data
    if (!reply.ok) throw new StoreError(reply.code, reply.error)
    let data: Uint8Array | undefined
    if (request.op === 'get') {
      data = (await framed.read({ signal })).subarray()
      if (data.byteLength !== reply.size) throw new StoreError('protocol', `block of ${data.byteLength} bytes, announced ${reply.size}`)
    }
    await stream.close({ signal }).catch(() => {})
    return { reply, ...(data != null ? { block: data } : {}) }
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    if (err instanceof StoreError) throw err
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
