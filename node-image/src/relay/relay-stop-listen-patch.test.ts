import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection, Libp2p, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Long enough that a dial waiting on the peer's reservation queue fails the test's own timeout. */
const QUEUE_HELD_MS = 60_000
const DIAL_TIMEOUT_MS = 10_000

const hasCircuitAddress = (node: Libp2p): boolean => node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))

describe('the circuit relay stop-listen patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  const releases: Array<() => void> = []
  afterEach(async () => {
    for (const release of releases.splice(0)) release()
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  const relay = async (onReserve?: () => Promise<void>): Promise<Libp2p> => {
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyInboundRelayReservation: async () => { await onReserve?.(); return false } },
      services: { identify: identify(), relay: circuitRelayServer() }
    })
    nodes.push(node)
    return node
  }

  const peer = async (privateKey: PrivateKey, options: { seekRelays?: boolean, reservationCompletionTimeout?: number } = {}): Promise<Libp2p> => {
    const { seekRelays = true, reservationCompletionTimeout } = options
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: seekRelays ? ['/p2p-circuit'] : [] },
      transports: [tcp(), circuitRelayTransport({ reservationCompletionTimeout })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    nodes.push(node)
    return node
  }

  /** A relay that holds a reservation for `key`, made by a peer with that key that has since stopped. */
  const relayHolding = async (key: PrivateKey): Promise<Libp2p> => {
    const holding = await relay()
    const before = await peer(key)
    await before.dial(holding.getMultiaddrs()[0] as Multiaddr)
    await expect.poll(() => hasCircuitAddress(before), { timeout: 10_000, interval: 100 }).toBe(true)
    await before.stop()
    return holding
  }

  const dialThrough = async (holding: Libp2p, target: Libp2p): Promise<Connection> => {
    const dialer = await createLibp2p({
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
    nodes.push(dialer)
    const circuit = multiaddr(`${(holding.getMultiaddrs()[0] as Multiaddr).toString()}/p2p-circuit/p2p/${target.peerId.toString()}`)
    return await dialer.dial(circuit, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  }

  it('accepts a circuit through a relay it holds no reservation on without waiting for its reservation queue', async () => {
    // The relay still holds a reservation from before the peer restarted (relays keep them until
    // they expire); the restarted peer's one-at-a-time reservation queue is busy with a relay that
    // does not answer. Unpatched, the peer reserves on the first relay before it reads the STOP,
    // behind that queue, and the dial through it waits as long.
    const key = await generateKeyPair('Ed25519')
    const holding = await relayHolding(key)
    let asked = false
    const silent = await relay(async () => {
      asked = true
      await new Promise<void>(resolve => releases.push(resolve))
    })
    const restarted = await peer(key, { reservationCompletionTimeout: QUEUE_HELD_MS })
    await restarted.dial(silent.getMultiaddrs()[0] as Multiaddr)
    await expect.poll(() => asked, { timeout: 5_000 }).toBe(true)
    await restarted.dial(holding.getMultiaddrs()[0] as Multiaddr)
    expect(hasCircuitAddress(restarted)).toBe(false)

    const connection = await dialThrough(holding, restarted)
    expect(connection.remotePeer.equals(restarted.peerId)).toBe(true)
    expect(connection.remoteAddr.toString()).toContain('/p2p-circuit')
  }, 30_000)

  it('still reserves on that relay, in the background, as libp2p meant', async () => {
    const key = await generateKeyPair('Ed25519')
    const holding = await relayHolding(key)
    const restarted = await peer(key, { seekRelays: false })
    await restarted.dial(holding.getMultiaddrs()[0] as Multiaddr)
    await dialThrough(holding, restarted)
    await expect.poll(() => hasCircuitAddress(restarted), { timeout: 10_000, interval: 100 }).toBe(true)
  }, 30_000)
})
