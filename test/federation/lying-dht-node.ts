import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { Libp2pRecord } from '@libp2p/record'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { createLibp2p } from 'libp2p'
import { toString as bytesToString } from 'uint8arrays'
import { PROTOCOLS } from '@meganet/contracts'
import { peerRecordKey } from '../../node-image/src/dht/peer-records.js'
import type { Libp2p } from '@libp2p/interface'

/**
 * A DHT server that lies: it holds, for one victim PeerId, a record that says the victim is at
 * the liar's own address, newer than any real one, signed by the liar's key (it cannot sign
 * with the victim's), and serves it to every GET_VALUE. It stores whatever it is sent.
 */
export class LyingDhtNode {
  private readonly node: Libp2p
  private readonly store: CountingDatastore

  private constructor (node: Libp2p, store: CountingDatastore) {
    this.node = node
    this.store = store
  }

  static async start ({ forgeFor }: { forgeFor: string }): Promise<LyingDhtNode> {
    const key = await generateKeyPair('Ed25519')
    const store = new CountingDatastore()
    const node = await createLibp2p({
      privateKey: key,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      datastore: store,
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          protocol: PROTOCOLS.dht,
          clientMode: false,
          peerInfoMapper: passthroughMapper,
          validators: { mgpeer: async () => {} },
          selectors: { mgpeer: () => 0 }
        })
      }
    })
    const liarAddress = node.getMultiaddrs()[0]?.toString() ?? '/ip4/127.0.0.1/tcp/1'
    // "The victim is reachable through me", with a sequence number from the future, signed by the liar.
    const forged = new PeerRecord({ peerId: peerIdFromString(forgeFor), multiaddrs: [multiaddr(`${liarAddress}/p2p-circuit`)], seqNumber: BigInt(Date.now() + 60_000) })
    const envelope = await RecordEnvelope.seal(forged, key)
    const recordKey = peerRecordKey(forgeFor)
    store.put(new Key(`/dht/record/${bytesToString(recordKey, 'base32')}`, false), new Libp2pRecord(recordKey, envelope.marshal(), new Date()).serialize())
    store.forged = `/dht/record/${bytesToString(recordKey, 'base32')}`
    return new LyingDhtNode(node, store)
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  /** How many times the forgery was handed out. */
  get served (): number {
    return this.store.served
  }

  async connect (addresses: readonly string[]): Promise<void> {
    await Promise.all(addresses.map(async address => await this.node.dial(multiaddr(address))))
  }

  async stop (): Promise<void> {
    await this.node.stop()
  }
}

class CountingDatastore extends MemoryDatastore {
  forged = ''
  served = 0
  /** Nothing sent to the liar replaces its forgery. */
  override put (key: Key, value: Uint8Array): Key {
    if (key.toString() === this.forged) return key
    return super.put(key, value) as Key
  }

  override get (key: Key): Uint8Array {
    if (key.toString() === this.forged) this.served++
    return super.get(key) as Uint8Array
  }
}
