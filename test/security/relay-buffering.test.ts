import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { acceptCircuitsByHand, openCircuitByHand, pushUntilHeldBack } from '../../node-image/src/relay/raw-circuit.fixture.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { rawNode } from '../../bench/src/attack-node.js'
import type { RawNode } from '../../bench/src/attack-node.js'

const DESTINATIONS = 4
/** What each held-back source offers: half the default circuit data limit. */
const OFFERED_BYTES = 64 * 1024 * 1024
/** What each reading circuit beside it carries, so the shared connection drains again and again. */
const FLOWING_BYTES = 16 * 1024 * 1024
/** The anchor's yamux windows are 2 MiB: one on each side of the relay, and a message or two. */
const ACCEPTED_BOUND = 6 * 1024 * 1024
/** The held bytes, plus garbage from what the reading circuits carried that no collection has freed yet. */
const MEMORY_GROWTH_BOUND = 96 * 1024 * 1024
const STALLED_AFTER_MS = 1_000

/**
 * An attacker holding both ends of circuits, a source that sends and a destination that accepts
 * and then reads nothing, must not make the relay keep what the source sends, even with a
 * second circuit to the same destination that does read (its drains reach every stream on the
 * connection). Before the `@libp2p/utils` drain patch the anchor kept it all, up to the circuit
 * data limit (128 MiB by default) per circuit: four circuits with 32 MiB offered on each took it
 * all and grew the anchor's external memory by 181 MiB; a few more at the full limit fill a 1 GiB pod.
 */
describe('relayed bytes a destination does not read', () => {
  const anchors: AnchorProcess[] = []
  const nodes: RawNode[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
    await Promise.all(anchors.splice(0).map(async a => { await a.cleanup() }))
  })

  it('hold the source back instead of filling the relay\'s memory', async () => {
    const relay = await AnchorProcess.start()
    anchors.push(relay)
    const relayAddress = multiaddr(relay.tcpAddress)
    const externalBefore = await relay.metric('nodejs_external_memory_bytes')
    const accepted: number[] = []
    for (let i = 0; i < DESTINATIONS; i++) {
      // Each node on its own /24, so no per-network cap gets in the way.
      const destination = await rawNode({ localAddress: `127.0.${40 + i}.1`, reserve: true })
      const stalled = await rawNode({ localAddress: `127.0.${50 + i}.1` })
      const flowing = await rawNode({ localAddress: `127.0.${60 + i}.1` })
      nodes.push(destination, stalled, flowing)
      await destination.dial(relayAddress)
      await eventually(() => destination.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')) ? true : undefined, 20_000, 'the destination\'s reservation')
      let circuits = 0
      await acceptCircuitsByHand(destination, stream => {
        if (circuits++ === 0) stream.pause()
        else stream.addEventListener('message', () => {})
      })
      const stalledHop = await openCircuitByHand(stalled, relayAddress, destination.peerId)
      const flowingHop = await openCircuitByHand(flowing, relayAddress, destination.peerId)
      const [held] = await Promise.all([
        pushUntilHeldBack(stalledHop, OFFERED_BYTES, { stalledAfterMs: STALLED_AFTER_MS }),
        pushUntilHeldBack(flowingHop, FLOWING_BYTES, { stalledAfterMs: 5_000 })
      ])
      accepted.push(held.accepted)
    }
    for (const bytes of accepted) expect(bytes).toBeLessThanOrEqual(ACCEPTED_BOUND)
    expect(await relay.metric('nodejs_external_memory_bytes') - externalBefore).toBeLessThan(MEMORY_GROWTH_BOUND)
  })
})
