import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { lpStream } from '@libp2p/utils'
import { describe, expect, it, vi } from 'vitest'
import { loopbackNodes } from '../net/loopback-node.fixture.js'
import type { Stream } from '@libp2p/interface'

const PROTOCOL = '/meganet/test-kad-inbound/1.0.0'
/** The server's inbound timeout here: long enough for a request on loopback, short enough to wait out. */
const INCOMING_MESSAGE_TIMEOUT_MS = 300

/** A kad-dht FIND_NODE request as protobuf: type (field 1) = 4, key (field 2) = 4 bytes. */
const FIND_NODE = Uint8Array.from([0x08, 0x04, 0x12, 0x04, 1, 2, 3, 4])

/**
 * The `@libp2p/kad-dht` patch (patches/README.md, "DHT requests served"): each inbound DHT stream
 * ends cleanly when the client closes its end after the answer, and leaves no timer behind.
 */
describe('kad-dht inbound streams (patched)', () => {
  const node = loopbackNodes()

  async function serverAndStream (): Promise<{ client: Stream, server: Stream }> {
    const server = await node({
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ protocol: PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper, incomingMessageTimeout: INCOMING_MESSAGE_TIMEOUT_MS })
    })
    const client = await node()
    const stream = await client.dialProtocol(server.getMultiaddrs(), PROTOCOL)
    let inbound: Stream | undefined
    for (let i = 0; i < 100 && inbound == null; i++) {
      inbound = server.getConnections(client.peerId)[0]?.streams.find(s => s.protocol === PROTOCOL)
      if (inbound == null) await new Promise(resolve => setTimeout(resolve, 10))
    }
    if (inbound == null) throw new Error('the server never saw the stream')
    return { client: stream, server: inbound }
  }

  it('a client that closes after its answer closes the stream, not resets it, now and after the timeout', async () => {
    const { client, server } = await serverAndStream()
    const serverAbort = vi.spyOn(server, 'abort')
    const lp = lpStream(client)
    await lp.write(FIND_NODE)
    expect((await lp.read()).byteLength).toBeGreaterThan(0)
    // Unpatched, the server took the end of the stream for an error: it reset the stream, and this close failed.
    await client.close()
    await new Promise(resolve => setTimeout(resolve, INCOMING_MESSAGE_TIMEOUT_MS * 2))
    expect(serverAbort).not.toHaveBeenCalled()
    expect(client.status).toBe('closed')
  })

  it('answers several requests on one stream (go-libp2p reuses them), each within the timeout', async () => {
    const { client } = await serverAndStream()
    const lp = lpStream(client)
    for (let i = 0; i < 3; i++) {
      await new Promise(resolve => setTimeout(resolve, INCOMING_MESSAGE_TIMEOUT_MS / 2))
      await lp.write(FIND_NODE)
      expect((await lp.read()).byteLength).toBeGreaterThan(0)
    }
    await client.close()
  })

  it('still resets a stream that sends nothing within the timeout', async () => {
    const { client, server } = await serverAndStream()
    const serverAbort = vi.spyOn(server, 'abort')
    await new Promise(resolve => setTimeout(resolve, INCOMING_MESSAGE_TIMEOUT_MS * 2))
    expect(serverAbort).toHaveBeenCalledWith(expect.objectContaining({ name: 'TimeoutError' }))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(client.status).not.toBe('open')
  })
})
