import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { STOP_OK, hopConnect } from './raw-circuit.fixture.js'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const CHUNK_BYTES = 64 * 1024
/** What the source offers; unpatched, the relay takes all of it while the destination reads nothing. */
const OFFERED_BYTES = 48 * 1024 * 1024
/** Every stream window in this test: what may be in flight on each hop. */
const WINDOW_BYTES = 1024 * 1024
/** Source to relay, relay to destination, and a message or two queued on each side. */
const IN_FLIGHT_BOUND = 4 * WINDOW_BYTES
/** How long a send may wait for room before the source counts itself held back. */
const STALLED_AFTER_MS = 1_000

/** Chunk `index` of the transfer: every byte says which chunk it belongs to, so loss and reordering show. */
function chunk (index: number): Uint8Array {
  return new Uint8Array(CHUNK_BYTES).fill(index % 251)
}

/** Sends chunks from `first` on until `total` bytes are sent or the stream holds the sender back; returns the chunks sent. */
async function sendUntilHeldBack (stream: Stream, first: number, total: number): Promise<number> {
  let index = first
  while (index * CHUNK_BYTES < total) {
    const hasRoom = stream.send(chunk(index++))
    if (!hasRoom) {
      const drained = await stream.onDrain({ signal: AbortSignal.timeout(STALLED_AFTER_MS) }).then(() => true, () => false)
      if (!drained) break
    }
  }
  return index
}

describe('the circuit relay backpressure patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('holds a circuit\'s source back while the destination reads nothing, then forwards every byte in order', async () => {
    const muxer = (): ReturnType<typeof yamux> => yamux({ streamOptions: { maxStreamWindowSize: WINDOW_BYTES } })
    const relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [muxer()],
      services: { identify: identify(), relay: circuitRelayServer({ reservations: { applyDefaultLimit: false } }) }
    })
    const destination = await createLibp2p({
      addresses: { listen: ['/p2p-circuit'] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [muxer()],
      services: { identify: identify() }
    })
    const source = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [muxer()] })
    nodes.push(relay, destination, source)
    const relayAddress = relay.getMultiaddrs()[0] as Multiaddr
    await destination.dial(relayAddress)
    await expect.poll(() => destination.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')), { timeout: 10_000 }).toBe(true)

    // The destination accepts the circuit, then reads nothing (an app that stopped reading).
    const received: Uint8Array[] = []
    const accepted = new Promise<Stream>(resolve => {
      void destination.unhandle(RELAY_PROTOCOLS.stop).then(async () => {
        await destination.handle(RELAY_PROTOCOLS.stop, stream => {
          stream.addEventListener('message', () => {
            stream.send(STOP_OK)
            stream.pause()
            stream.addEventListener('message', event => { received.push(event.data.subarray()) })
            resolve(stream)
          }, { once: true })
        }, { runOnLimitedConnection: true })
      })
    })
    await new Promise(resolve => setTimeout(resolve, 100))

    const hop = await source.dialProtocol(relayAddress, RELAY_PROTOCOLS.hop)
    const status = new Promise<void>(resolve => { hop.addEventListener('message', () => { resolve() }, { once: true }) })
    hop.send(hopConnect(destination.peerId))
    const stop = await accepted
    await status

    // Unpatched, the relay read everything the source offered (48 MiB) into memory.
    const heldBackAt = await sendUntilHeldBack(hop, 0, OFFERED_BYTES)
    expect(heldBackAt * CHUNK_BYTES).toBeLessThanOrEqual(IN_FLIGHT_BOUND)

    stop.resume()
    const sent = await sendUntilHeldBack(hop, heldBackAt, 2 * heldBackAt * CHUNK_BYTES + 8 * CHUNK_BYTES)
    await expect.poll(() => received.reduce((sum, data) => sum + data.byteLength, 0), { timeout: 10_000 }).toBe(sent * CHUNK_BYTES)
    const bytes = new Uint8Array(sent * CHUNK_BYTES)
    let offset = 0
    for (const data of received) { bytes.set(data, offset); offset += data.byteLength }
    for (let index = 0; index < sent; index++) {
      const start = index * CHUNK_BYTES
      expect(bytes.subarray(start, start + CHUNK_BYTES).every(b => b === index % 251), `chunk ${index}`).toBe(true)
    }
  })
})
