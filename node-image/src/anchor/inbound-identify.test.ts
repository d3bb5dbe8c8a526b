import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { InboundIdentify } from './inbound-identify.js'
import type { InboundIdentifyNode } from './inbound-identify.js'
import type { Connection, IdentifyResult, PeerId } from '@libp2p/interface'

const DELAY_MS = 2_000

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function connection (remotePeer: PeerId, direction: 'inbound' | 'outbound'): Connection {
  return { remotePeer, direction, status: 'open' } as unknown as Connection
}

/** A node whose identify service records what it was asked to identify. */
function fakeNode (): InboundIdentifyNode & { identified: Connection[], open: (connection: Connection) => void } {
  const events = new EventTarget()
  const identified: Connection[] = []
  return {
    identified,
    open: connection => { events.dispatchEvent(new CustomEvent('connection:open', { detail: connection })) },
    addEventListener: (type, listener) => { events.addEventListener(type, listener as (event: Event) => void) },
    removeEventListener: (type, listener) => { events.removeEventListener(type, listener as (event: Event) => void) },
    services: { identify: { identify: async (c: Connection) => { identified.push(c); return await Promise.resolve({} as unknown as IdentifyResult) } } }
  }
}

describe('InboundIdentify', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('identifies outbound connections and known anchors at once, a reserved peer never, anything else after the delay', async () => {
    const [anchor, joined, lookingUp, outbound] = [await peer(), await peer(), await peer(), await peer()]
    const node = fakeNode()
    const reserved = new Set([joined.toString()])
    const identify = new InboundIdentify(node, { delayMs: DELAY_MS, isKnownAnchor: id => id === anchor.toString(), isReserved: p => reserved.has(p.toString()) })
    identify.start()
    const fromAnchor = connection(anchor, 'inbound')
    const toOutbound = connection(outbound, 'outbound')
    const fromJoined = connection(joined, 'inbound')
    const fromLookup = connection(lookingUp, 'inbound')
    for (const c of [fromAnchor, toOutbound, fromJoined, fromLookup]) node.open(c)
    expect(node.identified).toEqual([fromAnchor, toOutbound])
    vi.advanceTimersByTime(DELAY_MS)
    expect(node.identified).toEqual([fromAnchor, toOutbound, fromLookup])
    identify.stop()
  })

  it('does not identify a connection closed before the delay, nor anything after stop', async () => {
    const node = fakeNode()
    const identify = new InboundIdentify(node, { delayMs: DELAY_MS, isKnownAnchor: () => false, isReserved: () => false })
    identify.start()
    const closed = connection(await peer(), 'inbound')
    node.open(closed)
    Object.assign(closed, { status: 'closed' })
    node.open(connection(await peer(), 'inbound'))
    identify.stop()
    node.open(connection(await peer(), 'outbound'))
    vi.advanceTimersByTime(DELAY_MS)
    expect(node.identified).toEqual([])
  })
})
