import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'

const PROTOCOL = '/meganet/test-kad/1.0.0'

async function dhtNode (options: { clientMode: boolean, autoRefresh?: boolean }) {
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: options.clientMode ? [] : ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: PROTOCOL,
        clientMode: options.clientMode,
        peerInfoMapper: passthroughMapper,
        ...(options.autoRefresh != null ? { autoRefresh: options.autoRefresh } : {})
      })
    }
  })
  await node.start()
  return node
}

type DhtNode = Awaited<ReturnType<typeof dhtNode>>

/** Polls until `check` holds (true) or `ms` pass (false). */
async function within (ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (check()) return true
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return check()
}

/**
 * Two DHT servers that know each other, and a client connected to the first only: the
 * self-query (1 s after start) walks to the second and dials it unless `autoRefresh` is off.
 */
describe('the kad-dht autoRefresh patch (patches/README.md)', () => {
  const nodes: DhtNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  async function network (autoRefresh: boolean | undefined): Promise<{ client: DhtNode, near: DhtNode, far: DhtNode }> {
    const near = await dhtNode({ clientMode: false })
    const far = await dhtNode({ clientMode: false })
    const client = await dhtNode({ clientMode: true, ...(autoRefresh != null ? { autoRefresh } : {}) })
    nodes.push(near, far, client)
    await near.dial(far.getMultiaddrs()[0] as never)
    await client.dial(near.getMultiaddrs()[0] as never)
    return { client, near, far }
  }

  it('by default a client walks the DHT on its own and connects to servers it was never told about', async () => {
    const { client, far } = await network(undefined)
    expect(await within(5_000, () => client.getConnections(far.peerId).length > 0)).toBe(true)
  })

  it('with autoRefresh off it dials nobody on its own, and its queries still run at once', async () => {
    const { client, near, far } = await network(false)
    expect(await within(3_000, () => client.getConnections(far.peerId).length > 0)).toBe(false)
    const found: string[] = []
    for await (const event of client.services.dht.getClosestPeers(far.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(5_000) })) {
      if (event.name === 'FINAL_PEER') found.push(event.peer.id.toString())
    }
    expect(found).toContain(far.peerId.toString())
    expect(found).toContain(near.peerId.toString())
  })
})
