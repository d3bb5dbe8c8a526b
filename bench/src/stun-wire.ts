import { createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { crc32 } from 'node:zlib'
import type { RemoteInfo, Socket } from 'node:dgram'

/**
 * Just enough STUN (RFC 8489) to play a hostile WebRTC-direct dialler: binding requests as a
 * browser sends them to a WebRTC-direct listener, and the USERNAME of what comes back.
 *
 * A WebRTC-direct browser uses one ufrag for both ends and as the ICE password (libp2p's
 * webrtc-direct spec), so anyone can make a request the listener accepts.
 */
const MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const ATTRIBUTE = {
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLING: 0x802a
} as const
const FINGERPRINT_XOR = 0x5354554e
const HEADER_BYTES = 20
const MESSAGE_INTEGRITY_BYTES = 4 + 20
const FINGERPRINT_BYTES = 4 + 4
const UFRAG_PREFIX = 'libp2p+webrtc+v1/'
const UFRAG_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
/** A DTLS 1.2 record holding a fatal handshake_failure alert (epoch 0, sequence 0). */
const DTLS_FATAL_ALERT = Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40])
/** How long after nominating a pair the closing dialler sends its alert: the listener has started DTLS by then. */
const ALERT_DELAY_MS = 30

/** A fresh ufrag as a browser's libp2p makes one. */
export function webrtcDirectUfrag (): string {
  return UFRAG_PREFIX + Array.from(randomBytes(32), b => UFRAG_ALPHABET[b % UFRAG_ALPHABET.length]).join('')
}

function attribute (type: number, value: Buffer): Buffer {
  const padding = (4 - value.length % 4) % 4
  const out = Buffer.alloc(4 + value.length + padding)
  out.writeUInt16BE(type, 0)
  out.writeUInt16BE(value.length, 2)
  value.copy(out, 4)
  return out
}

/** A STUN message with MESSAGE-INTEGRITY (keyed with `password`) and FINGERPRINT. */
function signedMessage (type: number, transactionId: Buffer, attributes: readonly Buffer[], password: string): Buffer {
  const body = Buffer.concat(attributes)
  const header = Buffer.alloc(HEADER_BYTES)
  header.writeUInt16BE(type, 0)
  header.writeUInt32BE(MAGIC_COOKIE, 4)
  transactionId.copy(header, 8)
  // Each of the two checks covers the message up to itself, with a length that counts itself.
  header.writeUInt16BE(body.length + MESSAGE_INTEGRITY_BYTES, 2)
  const integrity = attribute(ATTRIBUTE.MESSAGE_INTEGRITY, createHmac('sha1', password).update(header).update(body).digest())
  header.writeUInt16BE(body.length + MESSAGE_INTEGRITY_BYTES + FINGERPRINT_BYTES, 2)
  const fingerprint = Buffer.alloc(4)
  fingerprint.writeUInt32BE((crc32(Buffer.concat([header, body, integrity])) ^ FINGERPRINT_XOR) >>> 0)
  return Buffer.concat([header, body, integrity, attribute(ATTRIBUTE.FINGERPRINT, fingerprint)])
}

/**
 * A binding request for a WebRTC-direct connection with `ufrag`, as its browser sends it; with
 * `nominate`, the request that nominates the candidate pair (USE-CANDIDATE).
 */
export function stunBindingRequest (ufrag: string, nominate = false): Buffer {
  const priority = Buffer.alloc(4)
  priority.writeUInt32BE(0x6e7f1eff)
  return signedMessage(BINDING_REQUEST, randomBytes(12), [
    attribute(ATTRIBUTE.USERNAME, Buffer.from(`${ufrag}:${ufrag}`)),
    attribute(ATTRIBUTE.PRIORITY, priority),
    attribute(ATTRIBUTE.ICE_CONTROLLING, randomBytes(8)),
    ...(nominate ? [attribute(ATTRIBUTE.USE_CANDIDATE, Buffer.alloc(0))] : [])
  ], ufrag)
}

/** The success answer to the binding request `transactionId` from an IPv4 `from`. */
function stunBindingSuccess (transactionId: Buffer, ufrag: string, from: RemoteInfo): Buffer {
  const mapped = Buffer.alloc(8)
  mapped[1] = 0x01 // IPv4
  mapped.writeUInt16BE(from.port ^ (MAGIC_COOKIE >>> 16), 2)
  mapped.writeUInt32BE((from.address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0) ^ MAGIC_COOKIE) >>> 0, 4)
  return signedMessage(BINDING_SUCCESS, transactionId, [attribute(ATTRIBUTE.XOR_MAPPED_ADDRESS, mapped)], ufrag)
}

/** The USERNAME of a STUN message, or undefined when it is not STUN or has none. */
export function stunUsername (message: Buffer): string | undefined {
  if (message.length < HEADER_BYTES || message.readUInt32BE(4) !== MAGIC_COOKIE) return undefined
  let at = HEADER_BYTES
  while (at + 4 <= message.length) {
    const type = message.readUInt16BE(at)
    const length = message.readUInt16BE(at + 2)
    if (type === ATTRIBUTE.USERNAME) return message.subarray(at + 4, at + 4 + length).toString()
    at += 4 + length + (4 - length % 4) % 4
  }
  return undefined
}

async function boundSocket (host: string): Promise<Socket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, host, () => { socket.off('error', reject); resolve() })
  })
  return socket
}

async function send (socket: Socket, message: Buffer, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.send(message, port, host, err => { if (err == null) resolve(); else reject(err) })
  })
}

async function closeSocket (socket: Socket): Promise<void> {
  await new Promise<void>(resolve => { socket.close(() => { resolve() }) })
}

/** Counts the connections a listener made: each sends ICE checks back, with the ufrag it was asked for. */
abstract class CountingDialler {
  protected readonly answered = new Set<string>()

  /** Starts a new connection (a fresh ufrag) to `host`:`port`. */
  abstract request (host: string, port: number): Promise<void>
  abstract close (): Promise<void>

  /** How many of the requested connections the listener made (sent ICE checks for) so far. */
  get connectionsMade (): number {
    return this.answered.size
  }
}

/** A UDP socket on `host` that sends binding requests for new connections and nothing else. */
export class StunDialler extends CountingDialler {
  private readonly socket: Socket

  private constructor (socket: Socket) {
    super()
    this.socket = socket
    socket.on('message', message => {
      const username = stunUsername(message)
      if (username != null) this.answered.add(username)
    })
  }

  static async open (host: string): Promise<StunDialler> {
    return new StunDialler(await boundSocket(host))
  }

  override async request (host: string, port: number): Promise<void> {
    await send(this.socket, stunBindingRequest(webrtcDirectUfrag()), port, host)
  }

  override async close (): Promise<void> {
    await closeSocket(this.socket)
  }
}

/**
 * Connections that end as soon as the listener has made them: each from a socket of its own
 * on `host` (the listener sends a source whose ICE succeeded to that connection), answering
 * the listener's ICE checks, nominating the pair and then sending a fatal DTLS alert, so the
 * listener's peer connection closes within milliseconds. IPv4 only.
 */
export class ClosingDialler extends CountingDialler {
  private readonly host: string
  private readonly sockets: Socket[] = []
  private closed = false

  constructor (host: string) {
    super()
    this.host = host
  }

  override async request (host: string, port: number): Promise<void> {
    const socket = await boundSocket(this.host)
    this.sockets.push(socket)
    let nominated = false
    socket.on('message', (message, from) => {
      const username = stunUsername(message)
      if (username == null) { // DTLS from the listener
        socket.send(DTLS_FATAL_ALERT, from.port, from.address)
        return
      }
      this.answered.add(username)
      if (message.readUInt16BE(0) !== BINDING_REQUEST) return
      const ufrag = username.slice(0, username.indexOf(':'))
      socket.send(stunBindingSuccess(message.subarray(8, HEADER_BYTES), ufrag, from), from.port, from.address)
      if (nominated) return
      nominated = true
      socket.send(stunBindingRequest(ufrag, true), from.port, from.address)
      setTimeout(() => { if (!this.closed) socket.send(DTLS_FATAL_ALERT, from.port, from.address) }, ALERT_DELAY_MS)
    })
    await send(socket, stunBindingRequest(webrtcDirectUfrag()), port, host)
  }

  override async close (): Promise<void> {
    this.closed = true
    await Promise.all(this.sockets.map(closeSocket))
  }
}
