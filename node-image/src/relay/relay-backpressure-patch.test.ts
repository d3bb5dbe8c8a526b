import { afterEach, describe, expect, it } from 'vitest'
import { drainedWithin } from '../net/backpressure.fixture.js'
import { CHUNK_BYTES, acceptCircuitsByHand, chunk, openCircuitByHand, pushUntilHeldBack, relayNetwork } from './raw-circuit.fixture.js'
import type { RelayNetwork } from './raw-circuit.fixture.js'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a source offers; unpatched, the relay takes all of it while the destination reads nothing. */
const OFFERED_BYTES = 48 * 1024 * 1024
/** Every stream window in this test: what may be in flight on each hop. */
const WINDOW_BYTES = 1024 * 1024
/** Source to relay, relay to destination, and a message or two queued on each side. */
const IN_FLIGHT_BOUND = 4 * WINDOW_BYTES
/** How long the source of a circuit to a slow reader sends, and how long that reader pauses after each message. */
const SLOW_READER_MS = 2_000
const SLOW_READER_PAUSE_MS = 50
/** How long a source waits for room before it counts itself held back. */
const STALLED_AFTER_MS = 1_000

describe('the circuit relay backpressure patch (patches/README.md)', () => {
  const networks: RelayNetwork[] = []
  afterEach(async () => { await Promise.all(networks.splice(0).map(async n => { await n.stop() })) })

  /** A relay with no circuit limits, a destination reserved on it, and `sources` nodes that can reach it. */
  async function network (sources: number): Promise<{ relay: Multiaddr, destination: Libp2p, sources: Libp2p[] }> {
    const created = await relayNetwork({ sources, windowBytes: WINDOW_BYTES, unlimited: true })
    networks.push(created)
    return { relay: created.relayAddress, destination: created.destination, sources: created.sources }
  }

  it('holds a circuit\'s source back while the destination reads nothing, then forwards every byte in order', async () => {
    const { relay, destination, sources: [source] } = await network(1)
    const received: Uint8Array[] = []
    let accepted: Stream | undefined
    await acceptCircuitsByHand(destination, stream => {
      accepted = stream
      stream.pause()
      stream.addEventListener('message', event => { received.push(event.data.subarray()) })
    })
    const hop = await openCircuitByHand(source as Libp2p, relay, destination.peerId)

    // Unpatched, the relay took everything offered (48 MiB) into its memory.
    const first = await pushUntilHeldBack(hop, OFFERED_BYTES, { stalledAfterMs: STALLED_AFTER_MS })
    expect(first.accepted).toBeLessThanOrEqual(IN_FLIGHT_BOUND)

    accepted?.resume()
    const second = await pushUntilHeldBack(hop, 2 * first.accepted, { stalledAfterMs: STALLED_AFTER_MS, firstChunk: first.chunks })
    const total = (first.chunks + second.chunks) * CHUNK_BYTES
    await expect.poll(() => received.reduce((sum, data) => sum + data.byteLength, 0), { timeout: 10_000 }).toBe(total)
    const bytes = new Uint8Array(total)
    let offset = 0
    for (const data of received) { bytes.set(data, offset); offset += data.byteLength }
    for (let index = 0; index < total / CHUNK_BYTES; index++) {
      const start = index * CHUNK_BYTES
      expect(bytes.subarray(start, start + CHUNK_BYTES).every(b => b === index % 251), `chunk ${index}`).toBe(true)
    }
  })

  it('keeps holding it back while another circuit to the same destination flows', async () => {
    const { relay, destination, sources: [stalled, flowing] } = await network(2)
    let circuits = 0
    let flowed = 0
    await acceptCircuitsByHand(destination, stream => {
      // The first circuit reads nothing; the second reads everything (its drains reach the first's stream too).
      if (circuits++ === 0) stream.pause()
      else stream.addEventListener('message', event => { flowed += event.data.byteLength })
    })
    const stalledHop = await openCircuitByHand(stalled as Libp2p, relay, destination.peerId)
    const flowingHop = await openCircuitByHand(flowing as Libp2p, relay, destination.peerId)

    const [held] = await Promise.all([
      pushUntilHeldBack(stalledHop, OFFERED_BYTES, { stalledAfterMs: STALLED_AFTER_MS }),
      pushUntilHeldBack(flowingHop, 32 * 1024 * 1024, { stalledAfterMs: 5_000 })
    ])
    await expect.poll(() => flowed, { timeout: 20_000 }).toBeGreaterThanOrEqual(32 * 1024 * 1024)
    // With the first drain patch alone, each drain of the shared connection let the relay take more.
    expect(held.accepted).toBeLessThanOrEqual(IN_FLIGHT_BOUND)
  })

  it('holds a circuit\'s source back to a slow reader, then delivers every byte in order', async () => {
    const { relay, destination, sources: [source] } = await network(1)
    let received = 0
    let misplaced = 0
    let slow = true
    await acceptCircuitsByHand(destination, stream => {
      stream.addEventListener('message', event => {
        for (const part of event.data instanceof Uint8Array ? [event.data] : event.data) {
          for (let i = 0; i < part.byteLength; i += 4096) if (part[i] !== Math.floor((received + i) / CHUNK_BYTES) % 251) misplaced++
          received += part.byteLength
        }
        // A slow reader: a pause after every message.
        if (!slow) return
        stream.pause()
        setTimeout(() => { if (stream.readStatus === 'paused') stream.resume() }, SLOW_READER_PAUSE_MS)
      })
    })
    const hop = await openCircuitByHand(source as Libp2p, relay, destination.peerId)
    const deadline = Date.now() + SLOW_READER_MS
    let chunks = 0
    while (Date.now() < deadline && hop.status === 'open') {
      if (!hop.send(chunk(chunks++))) await drainedWithin(hop, Math.max(1, deadline - Date.now()))
    }
    // Without the resume patch, the relay's resume undid its own pause, and the source was no longer held back.
    expect(hop.status).toBe('open')
    expect(chunks * CHUNK_BYTES - hop.writeBufferLength - received).toBeLessThanOrEqual(IN_FLIGHT_BOUND)
    slow = false
    await expect.poll(() => received, { timeout: 20_000 }).toBe(chunks * CHUNK_BYTES)
    expect(misplaced).toBe(0)
  })

  it('ends the circuit when the destination leaves while its source is held back', async () => {
    const { relay, destination, sources: [source] } = await network(1)
    await acceptCircuitsByHand(destination, stream => { stream.pause() })
    const hop = await openCircuitByHand(source as Libp2p, relay, destination.peerId)
    await pushUntilHeldBack(hop, OFFERED_BYTES, { stalledAfterMs: STALLED_AFTER_MS })

    await destination.stop()
    // Unpatched (with the drain patch), the relay left the source paused on an open circuit for good.
    await expect.poll(() => hop.status, { timeout: 10_000 }).not.toBe('open')
  })
})
