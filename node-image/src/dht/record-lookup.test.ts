import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { SharedRecordLookups, findPeerRecord } from './record-lookup.js'
import type { RecordDht, RecordQueryEvent } from './record-lookup.js'
import type { VerifiedPeerRecord } from './peer-records.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

async function envelope (signer: PrivateKey, about: PeerId, seq: bigint, address: string): Promise<Uint8Array> {
  return (await RecordEnvelope.seal(new PeerRecord({ peerId: about, multiaddrs: [multiaddr(address)], seqNumber: seq }), signer)).marshal()
}

/** A DHT whose walk yields the given answers in order, and records how many were read. */
function scriptedDht (answers: Uint8Array[]): RecordDht & { read: number } {
  const dht = {
    read: 0,
    async * get (): AsyncIterable<RecordQueryEvent> {
      for (const value of answers) {
        await Promise.resolve()
        dht.read++
        yield { name: 'PEER_RESPONSE', record: { value } }
      }
    }
  }
  return dht
}

describe('findPeerRecord', () => {
  it('counts a forged answer, never chooses it however new, and stops at a quorum of valid ones', async () => {
    const victimKey = await generateKeyPair('Ed25519')
    const liarKey = await generateKeyPair('Ed25519')
    const victim = peerIdFromPrivateKey(victimKey)
    const now = BigInt(Date.now())
    const forged = await envelope(liarKey, victim, now + 60_000n, '/ip4/203.0.113.9/tcp/1/p2p-circuit')
    const older = await envelope(victimKey, victim, now - 1_000n, '/ip4/192.0.2.1/tcp/1/p2p-circuit')
    const newer = await envelope(victimKey, victim, now, '/ip4/192.0.2.2/tcp/1/p2p-circuit')
    const dht = scriptedDht([forged, older, forged, newer, older])
    const rejected: string[] = []
    const found = await findPeerRecord(dht, victim.toString(), { signal: AbortSignal.timeout(5_000), quorum: 2, onRejected: reason => { rejected.push(reason) } })
    expect(found?.seq).toBe(now)
    expect(found?.multiaddrs.map(a => a.toString())).toEqual(['/ip4/192.0.2.2/tcp/1/p2p-circuit'])
    expect(rejected).toEqual(['wrong-peer', 'wrong-peer'])
    expect(dht.read).toBe(4)
  })

  it('returns nothing when every answer is forged, and counts each', async () => {
    const victim = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const forged = await envelope(await generateKeyPair('Ed25519'), victim, BigInt(Date.now()), '/ip4/203.0.113.9/tcp/1/p2p-circuit')
    const rejected: string[] = []
    const found = await findPeerRecord(scriptedDht([forged, forged, forged]), victim.toString(), { signal: AbortSignal.timeout(5_000), onRejected: reason => { rejected.push(reason) } })
    expect(found).toBeUndefined()
    expect(rejected).toEqual(['wrong-peer', 'wrong-peer', 'wrong-peer'])
  })
})

describe('SharedRecordLookups', () => {
  it('walks once for lookups of one PeerId at once, and not again for a recent miss', async () => {
    const walks: string[] = []
    const state: { answer?: VerifiedPeerRecord } = {}
    const lookups = new SharedRecordLookups(async peerId => {
      walks.push(peerId)
      await new Promise(resolve => setTimeout(resolve, 10))
      return state.answer
    })
    await Promise.all([lookups.lookup('A'), lookups.lookup('A'), lookups.lookup('B')])
    expect(walks).toEqual(['A', 'B'])
    await lookups.lookup('A')
    expect(walks).toEqual(['A', 'B'])
    state.answer = { peerId: 'A', seq: 1n, signedAt: 0, multiaddrs: [], bytes: new Uint8Array() }
    expect(await lookups.lookup('A', Date.now() + 5_000)).toBe(state.answer)
    expect(walks).toEqual(['A', 'B', 'A'])
  })
})
