import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createLogger } from '../logging/logger.js'
import { RecordPublisher } from './record-publisher.js'
import type { PublisherNode } from './record-publisher.js'
import type { IdentifyResult, Peer, PeerId } from '@libp2p/interface'

/** A node whose peer store holds `envelopes` (by PeerId) and which counts identify requests. */
function fakeNode (anchor: PeerId, envelopes: Map<string, Uint8Array>): PublisherNode & { identified: number, puts: number } {
  const node = {
    peerId: anchor,
    identified: 0,
    puts: 0,
    peerStore: {
      get: async (peer: PeerId) => {
        const peerRecordEnvelope = envelopes.get(peer.toString())
        if (peerRecordEnvelope == null) throw new Error('not found')
        return await Promise.resolve({ peerRecordEnvelope } as unknown as Peer)
      }
    },
    getConnections: () => [{}],
    services: {
      dht: {
        async * put () {
          node.puts++
          await Promise.resolve()
          yield { name: 'PEER_RESPONSE', messageName: 'PUT_VALUE' }
        }
      },
      identify: {
        identify: async () => {
          node.identified++
          return await Promise.resolve({} as unknown as IdentifyResult)
        }
      }
    },
    addEventListener: () => {},
    removeEventListener: () => {}
  }
  return node
}

async function recordOf (peer: Awaited<ReturnType<typeof generateKeyPair>>, addresses: string[]): Promise<Uint8Array> {
  // js-libp2p's sequence numbers are signing times in ms.
  const record = new PeerRecord({ peerId: peerIdFromPrivateKey(peer), multiaddrs: addresses.map(a => multiaddr(a)), seqNumber: BigInt(Date.now()) })
  return (await RecordEnvelope.seal(record, peer)).marshal()
}

describe('RecordPublisher: a peer that just reserved', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] }) })
  afterEach(() => { vi.useRealTimers() })

  it('is asked to identify once, 1.2 s after the reservation, if its record names no circuit address through this anchor by then', async () => {
    const anchor = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const envelopes = new Map([[peer.toString(), await recordOf(key, ['/ip4/10.0.0.2/tcp/4001'])]])
    const node = fakeNode(anchor, envelopes)
    const publisher = new RecordPublisher({ refreshMs: 3_600_000, concurrency: 4, timeoutMs: 5_000 },
      { node, isReserved: () => true, onPublished: () => {}, log: createLogger('silent') })
    publisher.start()
    publisher.reserved(peer)
    // A js peer signs its circuit address into its record about 1 s after it reserved: asking
    // before that only gets the old record back.
    await vi.advanceTimersByTimeAsync(1_100)
    expect(node.identified).toBe(0)
    await vi.advanceTimersByTimeAsync(200)
    expect(node.identified).toBe(1)
    await vi.advanceTimersByTimeAsync(30_000)
    expect(node.identified).toBe(1)
    expect(node.puts).toBe(0)
    publisher.stop()
  })

  it('is not asked when its record already names one, and that record is put', async () => {
    const anchor = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const circuit = `/ip4/10.0.0.1/tcp/4001/p2p/${anchor.toString()}/p2p-circuit`
    const node = fakeNode(anchor, new Map([[peer.toString(), await recordOf(key, [circuit])]]))
    const publisher = new RecordPublisher({ refreshMs: 3_600_000, concurrency: 4, timeoutMs: 5_000 },
      { node, isReserved: () => true, onPublished: () => {}, log: createLogger('silent') })
    publisher.start()
    publisher.reserved(peer)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(node.identified).toBe(0)
    expect(node.puts).toBe(1)
    publisher.stop()
  })
})
