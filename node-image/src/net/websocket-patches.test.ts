import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import type { Libp2p } from '@libp2p/interface'

const wsNode = async (listen: string[]): Promise<Libp2p> => await createLibp2p({
  addresses: { listen },
  transports: [webSockets()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()]
})

describe('the WebSocket reset patch (patches/README.md, "@libp2p+websockets")', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('ends the WebSocket of a connection the listener aborts', async () => {
    const listener = await wsNode(['/ip4/127.0.0.1/tcp/0/ws'])
    const dialer = await wsNode([])
    nodes.push(listener, dialer)
    const outbound = await dialer.dial(listener.getMultiaddrs()[0]!)
    await expect.poll(() => listener.getConnections(dialer.peerId).length).toBe(1)

    listener.getConnections(dialer.peerId)[0]!.abort(new Error('aborted by the test'))
    // Unpatched, the abort's close(1006) threw inside libp2p and the socket stayed open: the
    // dialer kept a connection the listener had given up.
    await expect.poll(() => outbound.status, { timeout: 5_000 }).not.toBe('open')
    expect(dialer.getConnections(listener.peerId)).toHaveLength(0)
  })
})
