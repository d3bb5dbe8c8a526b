import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { transportSymbol } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { DialTransportOptions, Libp2p, MultiaddrConnection, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Pins the patches hole punching depends on (patches/README.md): a TCP simultaneous open gives
 * each side an outbound socket, and the side DCUtR dials with `initiator: false` must act as the
 * responder in every stage of the upgrade. A transport that hands out one end of an in-memory
 * connection per dial stands in for the two sockets.
 */
class SocketPairTransport implements Transport {
  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = 'socket-pair'
  lastOptions?: DialTransportOptions
  constructor (private readonly socket: () => MultiaddrConnection) {}

  async dial (_ma: Multiaddr, options: DialTransportOptions) {
    this.lastOptions = options
    return await options.upgrader.upgradeOutbound(this.socket(), options)
  }

  createListener (): never { throw new Error('no listener') }
  listenFilter = (): Multiaddr[] => []
  dialFilter = (addrs: Multiaddr[]): Multiaddr[] => addrs
}

const nodes: Libp2p[] = []
afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => await n.stop())) })

async function node (transport: SocketPairTransport) {
  const created = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transports: [() => transport],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping() }
  })
  nodes.push(created)
  return created
}

describe('patches that TCP hole punching needs', () => {
  it('an outbound connection dialled with initiator: false is the responder throughout (dial queue and upgrader patches)', async () => {
    // Both ends "outbound", as after a TCP simultaneous open.
    const [a, b] = multiaddrConnectionPair({ inbound: { direction: 'outbound' } })
    const transportA = new SocketPairTransport(() => a)
    const transportB = new SocketPairTransport(() => b)
    const nodeA = await node(transportA)
    const nodeB = await node(transportB)
    const [toB, toA] = await Promise.all([
      nodeA.dial(multiaddr(`/ip4/11.18.0.2/tcp/4001/p2p/${nodeB.peerId.toString()}`), { signal: AbortSignal.timeout(5_000) }),
      nodeB.dial(multiaddr(`/ip4/11.18.0.1/tcp/4001/p2p/${nodeA.peerId.toString()}`), { signal: AbortSignal.timeout(5_000), initiator: false } as Parameters<Libp2p['dial']>[1])
    ])
    expect((transportB.lastOptions as { initiator?: boolean } | undefined)?.initiator).toBe(false)
    expect(toA.direction).toBe('inbound')
    expect(toB.remotePeer.equals(nodeB.peerId)).toBe(true)
    // The muxer works both ways: yamux refused two clients before the upgrader patch.
    expect(await nodeA.services.ping.ping(nodeB.peerId, { signal: AbortSignal.timeout(5_000) })).toBeGreaterThanOrEqual(0)
    expect(await nodeB.services.ping.ping(nodeA.peerId, { signal: AbortSignal.timeout(5_000) })).toBeGreaterThanOrEqual(0)
  })

  it('identify still drops observed TCP addresses (why ObservedAddresses confirms them from the peer:identify event)', async () => {
    const added: string[] = []
    const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false })
    const service = identify()({
      peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
      logger: { forComponent: () => log },
      nodeInfo: { userAgent: 'test' },
      events: new EventTarget(),
      addressManager: { addObservedAddr: (a: Multiaddr) => { added.push(a.toString()) } }
    } as never) as unknown as { maybeAddObservedAddress: (bytes: Uint8Array) => void }
    service.maybeAddObservedAddress(multiaddr('/ip4/11.18.1.2/tcp/40000').bytes)
    service.maybeAddObservedAddress(multiaddr('/ip4/11.18.1.2/udp/40000/quic-v1').bytes)
    // When the first starts to pass, identify announces TCP mappings itself: revisit ObservedAddresses.
    expect(added).toEqual(['/ip4/11.18.1.2/udp/40000/quic-v1'])
  })
})
