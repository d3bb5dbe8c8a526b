import { createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { crc32 } from 'node:zlib'
import type { Socket } from 'node:dgram'

/**
 * Just enough STUN (RFC 8489) to play a hostile WebRTC-direct dialler: binding requests as a
 * browser sends them to a WebRTC-direct listener, and the USERNAME of what comes back.
 *
 * A WebRTC-direct browser uses one ufrag for both ends and as the ICE password (libp2p's
 * webrtc-direct spec), so anyone can make a request the listener accepts.
 */
const MAGIC_COOKIE = 0x2112a442
const BINDING_REQUEST = 0x0001
const ATTRIBUTE = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, PRIORITY: 0x0024, FINGERPRINT: 0x8028, ICE_CONTROLLING: 0x802a } as const
const FINGERPRINT_XOR = 0x5354554e
const HEADER_BYTES = 20
const MESSAGE_INTEGRITY_BYTES = 4 + 20
const FINGERPRINT_BYTES = 4 + 4
const UFRAG_PREFIX = 'libp2p+webrtc+v1/'
const UFRAG_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

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

/** A binding request for a new WebRTC-direct connection with `ufrag`: signed with it, fingerprinted. */
export function stunBindingRequest (ufrag: string): Buffer {
  const priority = Buffer.alloc(4)
  priority.writeUInt32BE(0x6e7f1eff)
  const body = Buffer.concat([
    attribute(ATTRIBUTE.USERNAME, Buffer.from(`${ufrag}:${ufrag}`)),
    attribute(ATTRIBUTE.PRIORITY, priority),
    attribute(ATTRIBUTE.ICE_CONTROLLING, randomBytes(8))
  ])
  const header = Buffer.alloc(HEADER_BYTES)
  header.writeUInt16BE(BINDING_REQUEST, 0)
  header.writeUInt32BE(MAGIC_COOKIE, 4)
  randomBytes(12).copy(header, 8)
  // Each of the two checks covers the message up to itself, with a length that counts itself.
  header.writeUInt16BE(body.length + MESSAGE_INTEGRITY_BYTES, 2)
  const integrity = attribute(ATTRIBUTE.MESSAGE_INTEGRITY, createHmac('sha1', ufrag).update(header).update(body).digest())
  header.writeUInt16BE(body.length + MESSAGE_INTEGRITY_BYTES + FINGERPRINT_BYTES, 2)
  const fingerprint = Buffer.alloc(4)
  fingerprint.writeUInt32BE((crc32(Buffer.concat([header, body, integrity])) ^ FINGERPRINT_XOR) >>> 0)
  return Buffer.concat([header, body, integrity, attribute(ATTRIBUTE.FINGERPRINT, fingerprint)])
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

/**
 * A UDP socket on `host` that sends binding requests for new connections, and counts the
 * connections the listener made for them: each sends ICE checks, with the ufrag, back.
 */
export class StunDialler {
  private readonly socket: Socket
  private readonly answered = new Set<string>()

  private constructor (socket: Socket) {
    this.socket = socket
    socket.on('message', message => {
      const username = stunUsername(message)
      if (username != null) this.answered.add(username)
    })
  }

  static async bind (host: string): Promise<StunDialler> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, host, () => { socket.off('error', reject); resolve() })
    })
    return new StunDialler(socket)
  }

  /** Sends a binding request for a new connection (a fresh ufrag) to `host`:`port`. */
  async request (host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.send(stunBindingRequest(webrtcDirectUfrag()), port, host, err => { if (err == null) resolve(); else reject(err) })
    })
  }

  /** How many of the requested connections the listener made (sent ICE checks for) so far. */
  get connectionsMade (): number {
    return this.answered.size
  }

  async close (): Promise<void> {
    await new Promise<void>(resolve => { this.socket.close(() => { resolve() }) })
  }
}
