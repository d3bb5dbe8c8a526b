import { identify, identifyPush } from '@libp2p/identify'
import { RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { afterEach, describe, expect, it } from 'vitest'
import { loopbackNode } from './loopback-node.fixture.js'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { Connection, IdentifyResult, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type Node = Libp2p<{ identify: Identify }>

async function node (): Promise<Node> {
  return await loopbackNode({ identify: identify({ runOnConnectionOpen: false }) })
}

/** The sequence number of the signed record `remote` answers an identify request with. */
async function recordSeq (local: Node, connection: Connection): Promise<bigint | undefined> {
  return (await local.services.identify.identify(connection)).signedPeerRecord?.seq
}

/** libp2p has no public call to listen on one more address; the transport manager does it. */
async function listenAlsoOn (target: Libp2p, address: Multiaddr): Promise<void> {
  const internals = target as unknown as { components: { transportManager: { listen: (addresses: Multiaddr[]) => Promise<void> } } }
  await internals.components.transportManager.listen([address])
}

describe('the identify signed-record patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('answers identify with the record it signed last while its addresses stay the same, and signs anew when they change', async () => {
    const [dialer, listener] = [await node(), await node()]
    nodes.push(dialer, listener)
    const connection = await dialer.dial(listener.getMultiaddrs()[0] as Multiaddr)
    const first = await recordSeq(dialer, connection)
    expect(first).toBeTypeOf('bigint')
    // Sequence numbers are the signing time in ms: unpatched, each answer was signed anew.
    await new Promise(resolve => setTimeout(resolve, 5))
    expect(await recordSeq(dialer, connection)).toBe(first)
    await listenAlsoOn(listener, multiaddr('/ip4/127.0.0.1/tcp/0'))
    await new Promise(resolve => setTimeout(resolve, 5))
    const changed = (await dialer.services.identify.identify(connection)).signedPeerRecord
    expect(changed?.seq).toBeGreaterThan(first as bigint)
    expect(changed?.addresses).toHaveLength(2)
  })

  it('pushes the record it answered with, and its receiver does not check that signature again', async () => {
    const services = { identify: identify({ runOnConnectionOpen: false }), identifyPush: identifyPush({ debounce: 10 }) }
    const [anchor, peer] = [await loopbackNode<{ identify: Identify, identifyPush: IdentifyPush }>(services), await loopbackNode<{ identify: Identify, identifyPush: IdentifyPush }>(services)]
    nodes.push(anchor, peer)
    const connection = await anchor.dial(peer.getMultiaddrs()[0] as Multiaddr)
    const answered = await anchor.services.identify.identify(connection)
    // As a joining peer does: it learns that the anchor takes pushes.
    await peer.services.identify.identify(peer.getConnections(anchor.peerId)[0] as Connection)
    const stored = (await anchor.peerStore.get(peer.peerId)).peerRecordEnvelope
    const certify = RecordEnvelope.openAndCertify
    let certified = 0
    RecordEnvelope.openAndCertify = async (...args) => { certified++; return await certify.apply(RecordEnvelope, args) }
    try {
      // A new protocol changes the peer's identify, not its addresses: it pushes.
      const pushed = new Promise<IdentifyResult>(resolve => { anchor.addEventListener('peer:identify', event => { resolve(event.detail) }, { once: true }) })
      await peer.handle('/meganet/test/1.0.0', () => {})
      const result = await pushed
      // Unpatched, the push carried a record signed anew (a newer sequence number), checked on arrival.
      expect(result.signedPeerRecord?.seq).toBe(answered.signedPeerRecord?.seq)
      expect((await anchor.peerStore.get(peer.peerId)).peerRecordEnvelope).toEqual(stored)
      expect(certified).toBe(0)
    } finally {
      RecordEnvelope.openAndCertify = certify
    }
  })

  it('still certifies any other envelope: a broken signature pushed over a certified record is refused', async () => {
    const services = { identify: identify({ runOnConnectionOpen: false }), identifyPush: identifyPush() }
    const [anchor, peer] = [await loopbackNode<{ identify: Identify, identifyPush: IdentifyPush }>(services), await loopbackNode<{ identify: Identify, identifyPush: IdentifyPush }>(services)]
    nodes.push(anchor, peer)
    await anchor.services.identify.identify(await anchor.dial(peer.getMultiaddrs()[0] as Multiaddr))
    const stored = (await anchor.peerStore.get(peer.peerId)).peerRecordEnvelope as Uint8Array
    // The envelope's last field is its signature.
    const tampered = stored.slice()
    tampered[tampered.length - 1] = (tampered.at(-1) as number) ^ 1
    let identified = 0
    anchor.addEventListener('peer:identify', () => { identified++ })
    // An identify push by hand: the Identify message's field 8 (signedPeerRecord), length-prefixed.
    const message = Uint8Array.from([0x42, ...varint.encode(tampered.length), ...tampered])
    const stream = await peer.dialProtocol(anchor.peerId, '/ipfs/id/push/1.0.0')
    stream.send(Uint8Array.from([...varint.encode(message.length), ...message]))
    await stream.close()
    // Certifying takes a millisecond or so; an envelope taken unchecked would be stored by now.
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(identified).toBe(0)
    expect((await anchor.peerStore.get(peer.peerId)).peerRecordEnvelope).toEqual(stored)
  })
})
