import { afterEach, describe, expect, it, vi } from 'vitest'
import { loopbackNode as node } from './loopback-node.fixture.js'
import type { Connection, Libp2p } from '@libp2p/interface'

/** libp2p's connection manager, which the Libp2p interface does not expose. */
interface ConnectionManager { getConnections: (peer?: unknown) => Connection[], getConnectionCount: () => number }
const connectionManager = (target: Libp2p): ConnectionManager => (target as unknown as { components: { connectionManager: ConnectionManager } }).components.connectionManager

describe('the libp2p connection count patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => {
    vi.restoreAllMocks()
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('admits and prunes inbound connections without building the array of every connection', async () => {
    const listener = await node()
    const dialers = await Promise.all(Array.from({ length: 5 }, async () => await node()))
    nodes.push(listener, ...dialers)
    const all = vi.spyOn(connectionManager(listener), 'getConnections')
    let opened = 0
    const allOpen = new Promise<void>(resolve => {
      listener.addEventListener('connection:open', () => { if (++opened === dialers.length) resolve() })
    })
    for (const dialer of dialers) await dialer.dial(listener.getMultiaddrs()[0]!)
    await allOpen
    // The pruner runs on connection:open, after the listener above: let it.
    await new Promise(resolve => setTimeout(resolve, 50))
    // Unpatched: twice per inbound connection (the maxConnections check, the pruner).
    expect(all.mock.calls.filter(args => args[0] == null)).toHaveLength(0)
    expect(listener.getConnections()).toHaveLength(dialers.length)
  })

  it('keeps its count equal to the connections it lists as connections open and close on either side', async () => {
    const listener = await node()
    // Five: libp2p refuses a sixth inbound connection from one host within a second.
    const dialers = await Promise.all(Array.from({ length: 5 }, async () => await node()))
    nodes.push(listener, ...dialers)
    const counted = (target: Libp2p): { count: number, listed: number } =>
      ({ count: connectionManager(target).getConnectionCount(), listed: connectionManager(target).getConnections().length })
    await Promise.all(dialers.map(async dialer => await dialer.dial(listener.getMultiaddrs()[0]!)))
    // A second dial of a connected peer returns the connection it has (openConnection's own bookkeeping).
    await dialers[0]!.dial(listener.peerId)
    await expect.poll(() => counted(listener)).toEqual({ count: 5, listed: 5 })
    expect(counted(dialers[0]!)).toEqual({ count: 1, listed: 1 })
    // Closed by the dialers, by the listener, and by a dialer stopping.
    await Promise.all(dialers.slice(0, 2).map(async dialer => { await dialer.hangUp(listener.peerId) }))
    await listener.hangUp(dialers[2]!.peerId)
    await dialers[3]!.stop()
    await expect.poll(() => counted(listener)).toEqual({ count: 1, listed: 1 })
    expect(counted(dialers[0]!)).toEqual({ count: 0, listed: 0 })
    await listener.stop()
    expect(counted(listener)).toEqual({ count: 0, listed: 0 })
  })

  it('still refuses and prunes past maxConnections', async () => {
    const listener = await node(undefined, { maxConnections: 2 })
    const dialers = await Promise.all(Array.from({ length: 4 }, async () => await node()))
    nodes.push(listener, ...dialers)
    await Promise.allSettled(dialers.map(async dialer => await dialer.dial(listener.getMultiaddrs()[0]!)))
    await expect.poll(() => listener.getConnections().length).toBeLessThanOrEqual(2)
    expect(listener.getConnections().length).toBeGreaterThan(0)
  })
})
