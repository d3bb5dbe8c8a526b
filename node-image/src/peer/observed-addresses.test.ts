import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { ObservedAddresses } from './observed-addresses.js'
import type { Connection, PeerId } from '@libp2p/interface'

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function connection (remote: string): Connection {
  return { remoteAddr: multiaddr(remote), direction: 'outbound' } as unknown as Connection
}

function setup (anchors: PeerId[], fromListenPort = true) {
  const confirmed: string[] = []
  const removed: string[] = []
  const service = new ObservedAddresses({
    addressManager: {
      confirmObservedAddr: (a: { toString: () => string }) => { confirmed.push(a.toString()) },
      removeObservedAddr: (a: { toString: () => string }) => { removed.push(a.toString()) }
    } as never,
    events: new EventTarget() as never
  }, { isObserver: p => anchors.some(a => a.equals(p)), fromListenPort: () => fromListenPort })
  return { service, confirmed, removed }
}

describe('ObservedAddresses', () => {
  it('confirms an address only when two anchors on different IPs report it', async () => {
    const [a1, a2] = [await peer(), await peer()]
    const { service, confirmed } = setup([a1, a2])
    service.observe(a1, connection('/ip4/11.18.0.10/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    expect(confirmed).toEqual([])
    service.observe(a2, connection('/ip4/11.18.0.11/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    expect(confirmed).toEqual(['/ip4/11.18.1.2/tcp/40000'])
    expect(service.confirmed?.toString()).toBe('/ip4/11.18.1.2/tcp/40000')
  })

  it('ignores peers that are not anchors, one anchor on two connections, private and non-TCP addresses', async () => {
    const [a1, a2, stranger] = [await peer(), await peer(), await peer()]
    const { service, confirmed } = setup([a1, a2])
    service.observe(stranger, connection('/ip4/11.18.0.12/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    service.observe(a1, connection('/ip4/11.18.0.10/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    service.observe(a1, connection('/ip4/11.18.0.10/tcp/4002/ws'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    service.observe(a2, connection('/ip4/11.18.0.11/tcp/4001'), multiaddr('/ip4/192.168.1.2/tcp/40000'))
    service.observe(a2, connection('/ip4/11.18.0.11/tcp/4001'), multiaddr('/ip4/11.18.1.2/udp/40000/quic-v1'))
    expect(confirmed).toEqual([])
  })

  it('does not count two anchors behind one IP as two observers', async () => {
    const [a1, a2] = [await peer(), await peer()]
    const { service, confirmed } = setup([a1, a2])
    service.observe(a1, connection('/ip4/11.18.0.10/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    service.observe(a2, connection('/ip4/11.18.0.10/tcp/4011'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    expect(confirmed).toEqual([])
  })

  it('confirms nothing behind a symmetric NAT, where each anchor sees another port', async () => {
    const [a1, a2] = [await peer(), await peer()]
    const { service, confirmed } = setup([a1, a2])
    service.observe(a1, connection('/ip4/11.18.0.10/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/51234'))
    service.observe(a2, connection('/ip4/11.18.0.11/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/60321'))
    expect(confirmed).toEqual([])
  })

  it('ignores connections that did not leave from the listen port', async () => {
    const [a1, a2] = [await peer(), await peer()]
    const { service, confirmed } = setup([a1, a2], false)
    service.observe(a1, connection('/ip4/11.18.0.10/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    service.observe(a2, connection('/ip4/11.18.0.11/tcp/4001'), multiaddr('/ip4/11.18.1.2/tcp/40000'))
    expect(confirmed).toEqual([])
  })

  it('withdraws the old address when a quorum agrees on a new one (the NAT rebooted)', async () => {
    const [a1, a2] = [await peer(), await peer()]
    const { service, confirmed, removed } = setup([a1, a2])
    for (const port of [40000, 41000]) {
      service.observe(a1, connection('/ip4/11.18.0.10/tcp/4001'), multiaddr(`/ip4/11.18.1.2/tcp/${port}`))
      service.observe(a2, connection('/ip4/11.18.0.11/tcp/4001'), multiaddr(`/ip4/11.18.1.2/tcp/${port}`))
    }
    expect(confirmed).toEqual(['/ip4/11.18.1.2/tcp/40000', '/ip4/11.18.1.2/tcp/41000'])
    expect(removed).toEqual(['/ip4/11.18.1.2/tcp/40000'])
  })
})
