import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What this test uses of libp2p's address manager (internal to libp2p). */
interface AddressManager {
  getAddressesWithMetadata: () => unknown[]
  addObservedAddr: (address: Multiaddr) => void
  confirmObservedAddr: (address: Multiaddr, options: { type: 'observed' }) => void
  removeObservedAddr: (address: Multiaddr) => void
}

describe('the address list patch (patches/README.md, "Per-join costs")', () => {
  const loopbackNode = loopbackNodes()
  afterEach(() => { vi.restoreAllMocks() })

  it('builds the list once for many asks, and again at once when an address changes, a second has passed or the clock went back', async () => {
    const node = await loopbackNode()
    const manager = (node as unknown as { components: { addressManager: AddressManager } }).components.addressManager
    const builds = vi.spyOn(manager, 'getAddressesWithMetadata')
    const first = node.getMultiaddrs().map(String)
    expect(first).toHaveLength(1)
    for (let n = 0; n < 5; n++) expect(node.getMultiaddrs().map(String)).toEqual(first)
    // Unpatched, each ask built the list: 6 here.
    expect(builds).toHaveBeenCalledTimes(1)

    // A caller may change what it was given without changing the next answer.
    node.getMultiaddrs().pop()
    expect(node.getMultiaddrs().map(String)).toEqual(first)

    const observed = multiaddr('/ip4/198.51.100.7/tcp/4001')
    manager.addObservedAddr(observed)
    manager.confirmObservedAddr(observed, { type: 'observed' })
    expect(node.getMultiaddrs().map(String)).toEqual([...first, `${observed.toString()}/p2p/${node.peerId.toString()}`])
    manager.removeObservedAddr(observed)
    expect(node.getMultiaddrs().map(String)).toEqual(first)

    const built = builds.mock.calls.length
    const now = Date.now()
    const clock = vi.spyOn(Date, 'now').mockReturnValue(now + 1_001)
    node.getMultiaddrs()
    expect(builds).toHaveBeenCalledTimes(built + 1)
    // A clock stepped back does not stretch the second.
    clock.mockReturnValue(now - 60_000)
    node.getMultiaddrs()
    expect(builds).toHaveBeenCalledTimes(built + 2)
  })
})
