import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { STOP_OK, hopConnect } from '../../node-image/src/relay/raw-circuit.fixture.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { rawNode } from '../../bench/src/attack-node.js'
import type { RawNode } from '../../bench/src/attack-node.js'
import type { Stream } from '@libp2p/interface'

const CIRCUITS = 4
const CHUNK = new Uint8Array(64 * 1024)
/** What each source offers: a quarter of the default circuit data limit. */
const OFFERED_BYTES = 32 * 1024 * 1024
/** The anchor's yamux windows are 2 MiB: one on each side of the relay, and a message or two. */
const ACCEPTED_BOUND = 6 * 1024 * 1024
const STALLED_AFTER_MS = 1_000

/** Bytes the relay took from `stream` (sent, less what still waits in the source's own buffer), sending until it stops taking more. */
async function push (stream: Stream, bytes: number): Promise<number> {
  let sent = 0
  while (sent - stream.writeBufferLength < bytes) {
    sent += CHUNK.byteLength
    if (stream.send(CHUNK)) continue
    const drained = await new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { stream.removeEventListener('drain', onDrain); resolve(false) }, STALLED_AFTER_MS)
      const onDrain = (): void => { clearTimeout(timer); resolve(true) }
      stream.addEventListener('drain', onDrain, { once: true })
    })
    if (!drained) break
  }
  return sent - stream.writeBufferLength
}

/**
 * An attacker holding both ends of circuits, a source that sends and a destination that accepts
 * and then reads nothing, must not make the relay keep what the source sends. Before the
 * `@libp2p/utils` drain patch the anchor held it all, up to the circuit data limit (128 MiB by
 * default) per circuit: these four circuits, 32 MiB offered on each, took it all and grew the
 * anchor's external memory by 181 MiB; a few more at the full limit fill a 1 GiB pod.
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
    for (let i = 0; i < CIRCUITS; i++) {
      // Each end on its own /24, so no per-network cap gets in the way.
      const destination = await rawNode({ localAddress: `127.0.${40 + i}.1`, reserve: true })
      const source = await rawNode({ localAddress: `127.0.${50 + i}.1` })
      nodes.push(destination, source)
      await destination.dial(relayAddress)
      await eventually(() => destination.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')) ? true : undefined, 20_000, 'the destination\'s reservation')
      await destination.unhandle(RELAY_PROTOCOLS.stop)
      await destination.handle(RELAY_PROTOCOLS.stop, stream => {
        stream.addEventListener('message', () => {
          stream.send(STOP_OK)
          stream.pause()
        }, { once: true })
      }, { runOnLimitedConnection: true })

      const hop = await source.dialProtocol(relayAddress, RELAY_PROTOCOLS.hop)
      const status = new Promise<Uint8Array>(resolve => { hop.addEventListener('message', event => { resolve(event.data.subarray()) }, { once: true }) })
      hop.send(hopConnect(destination.peerId))
      // STATUS with status (field 5) OK (100), the message's last field: the circuit is up.
      expect([...await status].slice(-2)).toEqual([0x28, 100])
      accepted.push(await push(hop, OFFERED_BYTES))
    }
    for (const bytes of accepted) expect(bytes).toBeLessThanOrEqual(ACCEPTED_BOUND)
    expect(await relay.metric('nodejs_external_memory_bytes') - externalBefore).toBeLessThan(CIRCUITS * ACCEPTED_BOUND)
  })
})
