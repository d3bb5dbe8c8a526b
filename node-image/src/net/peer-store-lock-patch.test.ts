import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Libp2p, PeerId } from '@libp2p/interface'

async function node (): Promise<Libp2p> {
  return await createLibp2p({ start: false })
}

async function somePeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** Calls `run` and counts the event listeners added to any EventTarget meanwhile. */
async function listenersAddedBy (run: () => Promise<unknown>): Promise<number> {
  const add = vi.spyOn(EventTarget.prototype, 'addEventListener')
  try {
    await run()
    return add.mock.calls.length
  } finally {
    add.mockRestore()
  }
}

describe('the peer store lock patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('prints a peer\'s datastore key once for any number of calls, and keeps peers apart', async () => {
    const libp2p = await node()
    nodes.push(libp2p)
    const [one, two] = await Promise.all([somePeer(), somePeer()])
    const printed = vi.spyOn(one, 'toCID')
    await libp2p.peerStore.merge(one, { protocols: ['/meganet-test/1.0.0'] })
    await libp2p.peerStore.merge(two, { protocols: ['/meganet-test/2.0.0'] })
    for (let n = 0; n < 3; n++) {
      expect((await libp2p.peerStore.get(one)).protocols).toEqual(['/meganet-test/1.0.0'])
      await libp2p.peerStore.merge(one, { metadata: { n: Uint8Array.of(n) } })
    }
    expect((await libp2p.peerStore.get(two)).protocols).toEqual(['/meganet-test/2.0.0'])
    // Unpatched, every call printed the key anew: 7 here.
    expect(printed.mock.calls.length).toBeLessThanOrEqual(1)
  })

  it('takes an uncontended lock without building event targets', async () => {
    const libp2p = await node()
    nodes.push(libp2p)
    await libp2p.peerStore.merge(libp2p.peerId, { protocols: ['/meganet-test/1.0.0'] })
    // Unpatched, mortice built two it-queue queues per lock and listened on them: 5 listeners here.
    expect(await listenersAddedBy(async () => {
      await libp2p.peerStore.get(libp2p.peerId)
      await libp2p.peerStore.merge(libp2p.peerId, { protocols: ['/meganet-test/2.0.0'] })
    })).toBe(0)
  })

  it('runs writes to one peer one at a time: concurrent merges lose nothing', async () => {
    const libp2p = await node()
    nodes.push(libp2p)
    const peer = await somePeer()
    // Each merge loads, changes and saves across awaits: without a write lock, most would be lost.
    await Promise.all(Array.from({ length: 50 }, async (_, i) => await libp2p.peerStore.merge(peer, { metadata: { [`key-${i}`]: new Uint8Array([i]) } })))
    expect((await libp2p.peerStore.get(peer)).metadata.size).toBe(50)
  })

  it('serves in order: a read queued behind a write sees it, and reads after a queued write wait for it', async () => {
    const libp2p = await node()
    nodes.push(libp2p)
    const peer = await somePeer()
    await libp2p.peerStore.merge(peer, { protocols: ['/one'] })
    const reads = Array.from({ length: 3 }, async () => await libp2p.peerStore.get(peer))
    const write = libp2p.peerStore.merge(peer, { protocols: ['/two'] })
    const later = libp2p.peerStore.get(peer)
    for (const read of await Promise.all(reads)) expect(read.protocols).toEqual(['/one'])
    await write
    expect((await later).protocols).toEqual(['/one', '/two'])
  })

  it('drops a waiter whose signal aborts, and goes on serving the others', async () => {
    const libp2p = await node()
    nodes.push(libp2p)
    const peer = await somePeer()
    await expect(libp2p.peerStore.get(peer, { signal: AbortSignal.abort() })).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }))
    const controller = new AbortController()
    const write = libp2p.peerStore.merge(peer, { protocols: ['/one'] })
    const aborted = libp2p.peerStore.get(peer, { signal: controller.signal })
    const next = libp2p.peerStore.merge(peer, { protocols: ['/two'] })
    controller.abort()
    await expect(aborted).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }))
    await write
    await next
    expect((await libp2p.peerStore.get(peer)).protocols).toEqual(['/one', '/two'])
  })
})
