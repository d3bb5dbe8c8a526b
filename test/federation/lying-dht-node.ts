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
import type { KadDHT } from '@libp2p/kad-dht'

/**
 * A DHT server that lies: it holds, for one victim PeerId, a record that says the victim is at
 * the liar's own address, newer than any real one, signed by the liar's key (it cannot sign
 * with the victim's), serves it to every GET_VALUE and can push it to the nodes closest to the
 * victim's key. It stores whatever it is sent.
 */
export class LyingDhtNode {
  private readonly node: Libp2p<{ dht: KadDHT }>
  private readonly store: CountingDatastore
  private readonly forgery: { readonly key: Uint8Array, readonly envelope: Uint8Array }

  private constructor (node: Libp2p<{ dht: KadDHT }>, store: CountingDatastore, forgery: { key: Uint8Array, envelope: Uint8Array }) {
    this.node = node
    this.store = store
    this.forgery = forgery
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
    const envelope = (await RecordEnvelope.seal(forged, key)).marshal()
    const recordKey = peerRecordKey(forgeFor)
    const datastoreKey = `/dht/record/${bytesToString(recordKey, 'base32')}`
    store.put(new Key(datastoreKey, false), new Libp2pRecord(recordKey, envelope, new Date()).serialize())
    store.forged = datastoreKey
    return new LyingDhtNode(node, store, { key: recordKey, envelope })
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  /** How many times the forgery was handed out. */
  get served (): number {
    return this.store.served
  }

  /**
   * Sends the forgery with PUT_VALUE to the DHT servers closest to the victim's key, as a liar
   * spreading it would: where it was sent, and which of those stored it.
   */
  async pushForgery (): Promise<{ sentTo: string[], storedBy: string[] }> {
    const sentTo = new Set<string>()
    const storedBy: string[] = []
    try {
      for await (const event of this.node.services.dht.put(this.forgery.key, this.forgery.envelope, { signal: AbortSignal.timeout(10_000) })) {
        // The walk to the closest servers sends FIND_NODE; then each of them is sent the PUT_VALUE.
        if (event.name === 'SEND_QUERY' && event.messageName === 'PUT_VALUE') sentTo.add(event.to.toString())
        // A server echoes a record it stored; one that refuses it resets the stream.
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.record != null) storedBy.push(event.from.toString())
      }
    } catch {
      // kad-dht ends a put that some server refused with an error: the events above tell the rest.
    }
    return { sentTo: [...sentTo], storedBy }
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
