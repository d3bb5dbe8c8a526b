import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PROTOCOL = '/meganet-test/sink/1.0.0'
const BYTES = 1024 * 1024

interface OpenCall { readonly pieces: number, readonly dst: boolean }

/** A node whose Noise records, for every message it opens, how many pieces it came in and whether it was given a `dst`. */
async function recordingNode (calls: OpenCall[]): Promise<Libp2p> {
  const crypto: ICryptoInterface = {
    ...defaultCrypto,
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      calls.push({ pieces: ciphertext instanceof Uint8Array ? 1 : [...ciphertext].length, dst: dst != null })
      return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    }
  }
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto })],
    streamMuxers: [yamux()]
  })
}

describe('the Noise patch for messages that arrive in pieces (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('opens a message split across socket reads without first copying it whole', async () => {
    const calls: OpenCall[] = []
    const [sender, receiver] = [await recordingNode([]), await recordingNode(calls)]
    nodes.push(sender, receiver)
    const received = new Promise<string>(resolve => {
      void receiver.handle(PROTOCOL, stream => {
        const hash = createHash('sha256')
        let bytes = 0
        stream.addEventListener('message', event => {
          for (const chunk of event.data instanceof Uint8Array ? [event.data] : event.data) hash.update(chunk)
          bytes += event.data.byteLength
          if (bytes === BYTES) resolve(hash.digest('hex'))
        })
      })
    })
    const data = randomBytes(BYTES)
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    // The handshake's own messages are opened without a `dst` by design: count only the transfer's.
    calls.length = 0
    stream.send(data)
    expect(await received).toBe(createHash('sha256').update(data).digest('hex'))
    // 64 KiB messages over 64 KiB socket reads: most arrive in two pieces.
    const inPieces = calls.filter(call => call.pieces > 1)
    expect(inPieces.length).toBeGreaterThan(4)
    // Unpatched, each was given a `dst`: a copy of the whole message that Node's cipher ignores.
    expect(inPieces.filter(call => call.dst)).toEqual([])
    // A message in one piece (the handshake's and the small ones) still gets its in-place `dst`.
    const whole = calls.filter(call => call.pieces === 1)
    expect(whole.length).toBeGreaterThan(0)
    expect(whole.filter(call => !call.dst)).toEqual([])
  })
})
