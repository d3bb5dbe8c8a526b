import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { loopbackNode } from './loopback-node.fixture.js'
import type { Identify } from '@libp2p/identify'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

type Node = Libp2p<{ identify: Identify }>

async function node (): Promise<Node> {
  return await loopbackNode({ identify: identify({ runOnConnectionOpen: false }) })
}

/** The sequence number of the signed record `remote` answers an identify request with. */
async function recordSeq (local: Node, connection: Connection): Promise<bigint | undefined> {
  return (await local.services.identify.identify(connection)).signedPeerRecord?.seq
}

/** libp2p has no public call to listen on one more address; the transport manager does it. */
async function listenAlsoOn (target: Libp2p, address: Multiaddr): Promise<void> {
  const internals = target as unknown as { components: { transportManager: { listen: (addresses: Multiaddr[]) => Promise<void> } } }
  await internals.components.transportManager.listen([address])
}

describe('the identify signed-record patch (patches/README.md)', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('answers identify with the record it signed last while its addresses stay the same, and signs anew when they change', async () => {
    const [dialer, listener] = [await node(), await node()]
    nodes.push(dialer, listener)
    const connection = await dialer.dial(listener.getMultiaddrs()[0] as Multiaddr)
    const first = await recordSeq(dialer, connection)
    expect(first).toBeTypeOf('bigint')
    // Sequence numbers are the signing time in ms: unpatched, each answer was signed anew.
    await new Promise(resolve => setTimeout(resolve, 5))
    expect(await recordSeq(dialer, connection)).toBe(first)
    await listenAlsoOn(listener, multiaddr('/ip4/127.0.0.1/tcp/0'))
    await new Promise(resolve => setTimeout(resolve, 5))
    const changed = (await dialer.services.identify.identify(connection)).signedPeerRecord
    expect(changed?.seq).toBeGreaterThan(first as bigint)
    expect(changed?.addresses).toHaveLength(2)
  })
})
