import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { createLibp2p } from 'libp2p'
import { pushUntilHeldBack as pushMessagesUntilHeldBack } from '../net/backpressure.fixture.js'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Circuit relay v2 by hand, for tests that play a source or a destination the way no js-libp2p
 * node would (one that never reads, or gives up half-way): raw bytes over the relay's hop and
 * stop streams, no Noise or yamux of their own inside the circuit.
 */
function frame (message: Uint8Array): Uint8Array {
  return Uint8Array.of(message.byteLength, ...message)
}

/** A hop CONNECT (circuit v2 protobuf: type = 1, peer = { id }), length-prefixed. */
export function hopConnect (destination: PeerId): Uint8Array {
  const id = destination.toMultihash().bytes
  const peer = Uint8Array.of(0x0a, id.byteLength, ...id)
  return frame(Uint8Array.of(0x08, 0x01, 0x12, peer.byteLength, ...peer))
}

/** A stop STATUS OK (type = STATUS (1), status = OK (100)), length-prefixed. */
export const STOP_OK = frame(Uint8Array.of(0x08, 0x01, 0x20, 100))

export const CHUNK_BYTES = 64 * 1024

/** Chunk `index` of a transfer: every byte says which chunk it belongs to, so loss and reordering show. */
export function chunk (index: number): Uint8Array {
  return new Uint8Array(CHUNK_BYTES).fill(index % 251)
}

/** `destination` (holding a reservation) accepts every circuit by hand and gives the stream to `onCircuit`, which may pause it. */
export async function acceptCircuitsByHand (destination: Libp2p, onCircuit: (stream: Stream) => void): Promise<void> {
  await destination.unhandle(RELAY_PROTOCOLS.stop)
  await destination.handle(RELAY_PROTOCOLS.stop, stream => {
    stream.addEventListener('message', () => {
      stream.send(STOP_OK)
      onCircuit(stream)
    }, { once: true })
  }, { runOnLimitedConnection: true })
}

/** Opens a circuit through `relay` to `destination` by hand; resolves once the relay said it is up. */
export async function openCircuitByHand (source: Libp2p, relay: Multiaddr, destination: PeerId): Promise<Stream> {
  const hop = await source.dialProtocol(relay, RELAY_PROTOCOLS.hop)
  const status = new Promise<Uint8Array>(resolve => { hop.addEventListener('message', event => { resolve(event.data.subarray()) }, { once: true }) })
  hop.send(hopConnect(destination))
  // STATUS ends with its status field (5) = OK (100).
  const answer = [...await status].slice(-2)
  if (answer[0] !== 0x28 || answer[1] !== 100) throw new Error(`the relay refused the circuit: ${answer.join(' ')}`)
  return hop
}

/**
 * Sends chunks (numbered from `firstChunk`) until the relay has taken `bytes` or stops taking
 * more: no `drain` for `stalledAfterMs`. Waits on `drain` events, not `onDrain()`, so it measures
 * the relay whatever this stream's own `onDrain()` does. Returns the chunks sent and the bytes
 * the relay took (sent, less what still waits in this stream's write buffer).
 */
export async function pushUntilHeldBack (stream: Stream, bytes: number, options: { stalledAfterMs: number, firstChunk?: number }): Promise<{ chunks: number, accepted: number }> {
  const first = options.firstChunk ?? 0
  const { messages, accepted } = await pushMessagesUntilHeldBack(stream, bytes, i => chunk(first + i), options.stalledAfterMs)
  return { chunks: messages, accepted }
}

export interface RelayNetwork {
  readonly relay: Libp2p
  readonly relayAddress: Multiaddr
  /** Holds a reservation on the relay. */
  readonly destination: Libp2p
  /** Plain TCP nodes that can reach the relay. */
  readonly sources: Libp2p[]
  stop: () => Promise<void>
}

/**
 * A js-libp2p relay on loopback, a destination reserved on it, and `sources` nodes.
 * `windowBytes`: every yamux stream window (libp2p's default when absent).
 * `unlimited`: the relay applies no data or duration limit to circuits.
 */
export async function relayNetwork (init: { sources: number, windowBytes?: number, unlimited?: boolean }): Promise<RelayNetwork> {
  const muxer = (): ReturnType<typeof yamux> => yamux(init.windowBytes == null ? {} : { streamOptions: { maxStreamWindowSize: init.windowBytes } })
  const nodes: Libp2p[] = []
  const stop = async (): Promise<void> => { await Promise.all(nodes.map(async n => { await n.stop() })) }
  try {
    const relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [muxer()],
      services: { identify: identify(), relay: circuitRelayServer(init.unlimited === true ? { reservations: { applyDefaultLimit: false } } : {}) }
    })
    nodes.push(relay)
    const destination = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [muxer()],
      services: { identify: identify() }
    })
    nodes.push(destination)
    const relayAddress = relay.getMultiaddrs()[0] as Multiaddr
    await destination.dial(relayAddress)
    await reserved(destination, 10_000)
    for (let i = 0; i < init.sources; i++) nodes.push(await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [muxer()] }))
    return { relay, relayAddress, destination, sources: nodes.slice(2), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

async function reserved (node: Libp2p, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!node.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))) {
    if (Date.now() > deadline) throw new Error(`no relay reservation within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
