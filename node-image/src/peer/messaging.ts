import { PROTOCOLS } from '@meganet/contracts'
import { lpStream } from '@libp2p/utils'
import { pathOf } from './connection-path.js'
import type { Connection, Stream } from '@libp2p/interface'

/** Messages are for signalling and chat, not bulk data: that goes to storage. */
export const MAX_MESSAGE_BYTES = 64 * 1024
export const MESSAGE_TIMEOUT_MS = 15_000
const ACK = Uint8Array.of(1)

export class MessageError extends Error {
  override readonly name = 'MessageError'
}

export interface ReceivedMessage {
  readonly from: string
  readonly data: Uint8Array
  /** True when it arrived through a relay rather than a direct connection. */
  readonly relayed: boolean
}

/** Writes one message and waits for the receiver's acknowledgement, so delivery is known. */
export async function writeMessage (stream: Stream, data: Uint8Array, signal: AbortSignal): Promise<void> {
  if (data.byteLength > MAX_MESSAGE_BYTES) throw new MessageError(`message is ${data.byteLength} bytes; the limit is ${MAX_MESSAGE_BYTES}`)
  const framed = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
  await framed.write(data, { signal })
  const ack = await framed.read({ signal })
  if (ack.byteLength !== 1 || ack.get(0) !== 1) throw new MessageError('receiver did not acknowledge the message')
  await stream.close({ signal })
}

/** Reads one message, acknowledges it and hands it on. Oversized frames abort the stream. */
export async function readMessage (stream: Stream, connection: Connection): Promise<ReceivedMessage> {
  const signal = AbortSignal.timeout(MESSAGE_TIMEOUT_MS)
  const framed = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
  const data = (await framed.read({ signal })).subarray()
  await framed.write(ACK, { signal })
  await stream.close({ signal })
  return { from: connection.remotePeer.toString(), data, relayed: pathOf(connection) === 'relayed' }
}

export const MESSAGE_PROTOCOL = PROTOCOLS.message
