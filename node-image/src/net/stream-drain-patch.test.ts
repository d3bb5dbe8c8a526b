import { afterEach, describe, expect, it } from 'vitest'
import { drainedWithin } from './backpressure.fixture.js'
import { loopbackNode as node } from './loopback-node.fixture.js'
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const PROTOCOL = '/meganet-test/sink/1.0.0'
const OTHER_PROTOCOL = '/meganet-test/other/1.0.0'
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
    if (!await drainedWithin(stream, 300)) return
  }
  throw new Error('the stream never filled')
}

async function settlesWithin (promise: Promise<void>, ms: number): Promise<boolean> {
  return await Promise.race([promise.then(() => true, () => true), new Promise<boolean>(resolve => setTimeout(() => { resolve(false) }, ms))])
}

describe('the stream drain patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  /** A stream to a receiver that reads what it gets unless paused (it starts paused). */
  async function pausedStream (sender: Libp2p, receiver: Libp2p): Promise<{ stream: Stream, inbound: Stream }> {
    let inbound: Stream | undefined
    await receiver.handle(PROTOCOL, stream => {
      inbound = stream
      stream.addEventListener('message', () => {})
      stream.pause()
    }, { force: true })
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0] as Multiaddr, PROTOCOL)
    stream.send(Uint8Array.of(1))
    await expect.poll(() => inbound).toBeDefined()
    return { stream, inbound: inbound as Stream }
  }

  it('onDrain() waits for the next drain every time, not only the first', async () => {
    const [sender, receiver] = [await node(), await node()]
    nodes.push(sender, receiver)
    const { stream, inbound } = await pausedStream(sender, receiver)

    await fill(stream)
    const first = stream.onDrain()
    expect(await settlesWithin(first, STILL_WAITING_MS)).toBe(false)
    inbound.resume()
    await first

    inbound.pause()
    await fill(stream)
    // Unpatched, this resolved at once: the first drain's promise was handed out again.
    expect(await settlesWithin(stream.onDrain(), STILL_WAITING_MS)).toBe(false)
    inbound.resume()
    await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
  })

  it('onDrain() keeps waiting while other streams on the same connection drain', async () => {
    const [sender, receiver] = [await node(), await node()]
    nodes.push(sender, receiver)
    const { stream } = await pausedStream(sender, receiver)
    await fill(stream)
    const waiting = stream.onDrain()
    // Another stream on the connection moves 8 MiB: the connection drains again and again.
    await receiver.handle(OTHER_PROTOCOL, s => { s.addEventListener('message', () => {}) })
    const other = await sender.dialProtocol(receiver.getMultiaddrs()[0] as Multiaddr, OTHER_PROTOCOL)
    for (let i = 0; i < 128; i++) if (!other.send(CHUNK)) await new Promise(resolve => { other.addEventListener('drain', resolve, { once: true }) })
    // With the first change alone, the connection's first drain let this one go though its window is still shut.
    expect(await settlesWithin(waiting, STILL_WAITING_MS)).toBe(false)
    expect(stream.writableNeedsDrain).toBe(true)
  })

  it('onDrain() of a stream that closed rejects instead of waiting for good', async () => {
    const [sender, receiver] = [await node(), await node()]
    nodes.push(sender, receiver)
    const { stream } = await pausedStream(sender, receiver)
    await fill(stream)
    stream.abort(new Error('gone'))
    // With the first change alone, nothing would ever settle this wait.
    const outcome = await Promise.race([
      stream.onDrain().then(() => 'drained', (err: Error) => err.name),
      new Promise(resolve => setTimeout(() => { resolve('still waiting') }, 2_000))
    ])
    expect(outcome).toBe('StreamClosedError')
  })
})
