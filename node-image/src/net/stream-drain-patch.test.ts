import { afterEach, describe, expect, it } from 'vitest'
import { loopbackNode as node } from './loopback-node.fixture.js'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PROTOCOL = '/meganet-test/sink/1.0.0'
const CHUNK = new Uint8Array(64 * 1024)
/** How long `onDrain()` must keep waiting while nothing drains. */
const STILL_WAITING_MS = 500

/**
 * Sends chunks until the stream is full and stays full (the paused receiver's window is used up,
 * not just the socket busy for a moment); waits on `drain` events, not on `onDrain()`.
 */
async function fill (stream: Stream): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (stream.send(CHUNK)) continue
    const drained = await new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { stream.removeEventListener('drain', onDrain); resolve(false) }, 300)
      const onDrain = (): void => { clearTimeout(timer); resolve(true) }
      stream.addEventListener('drain', onDrain, { once: true })
    })
    if (!drained) return
  }
  throw new Error('the stream never filled')
}

async function settlesWithin (promise: Promise<void>, ms: number): Promise<boolean> {
  return await Promise.race([promise.then(() => true, () => true), new Promise<boolean>(resolve => setTimeout(() => { resolve(false) }, ms))])
}

describe('the stream drain patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('onDrain() waits for the next drain every time, not only the first', async () => {
    const [sender, receiver] = [await node(), await node()]
    nodes.push(sender, receiver)
    let inbound: Stream | undefined
    await receiver.handle(PROTOCOL, stream => {
      inbound = stream
      stream.addEventListener('message', () => {})
      stream.pause()
    })
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    stream.send(Uint8Array.of(1))
    await expect.poll(() => inbound).toBeDefined()

    await fill(stream)
    const first = stream.onDrain()
    expect(await settlesWithin(first, STILL_WAITING_MS)).toBe(false)
    inbound?.resume()
    await first

    inbound?.pause()
    await fill(stream)
    // Unpatched, this resolved at once: the first drain's promise was handed out again.
    expect(await settlesWithin(stream.onDrain(), STILL_WAITING_MS)).toBe(false)
    inbound?.resume()
    await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
  })
})
