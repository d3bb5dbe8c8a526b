import { peerIdFromString } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import { describe, expect, it } from 'vitest'
import { RELAY_PROTOCOLS } from '@meganet/contracts'
import { PeerError } from './peer.js'
import { RelayOffers } from './relay-offers.js'
import { userMessage } from './user-message.js'
import type { IdentifyResult, Libp2pEvents } from '@libp2p/interface'

const A = '12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'
const B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

function identified (events: TypedEventEmitter<Libp2pEvents>, peer: string, protocols: string[]): void {
  events.safeDispatchEvent('peer:identify', { detail: { peerId: peerIdFromString(peer), protocols } as unknown as IdentifyResult })
}

describe('relay offers', () => {
  it('say no relay only once every anchor has identified without the hop protocol', () => {
    const events = new TypedEventEmitter<Libp2pEvents>()
    const offers = new RelayOffers(events)
    expect(offers.noneRelays([A, B])).toBe(false) // nobody identified yet: unknown
    identified(events, A, ['/ipfs/id/1.0.0'])
    expect(offers.noneRelays([A, B])).toBe(false)
    identified(events, B, ['/ipfs/id/1.0.0', '/ipfs/kad/1.0.0'])
    expect(offers.noneRelays([A, B])).toBe(true)
    expect(offers.noneRelays([])).toBe(false)
  })

  it('take an identify push with the relay as the newer answer, and ignore one without a protocol list', () => {
    const events = new TypedEventEmitter<Libp2pEvents>()
    const offers = new RelayOffers(events)
    identified(events, A, ['/ipfs/id/1.0.0'])
    identified(events, A, ['/ipfs/id/1.0.0', RELAY_PROTOCOLS.hop])
    identified(events, A, [])
    expect(offers.noneRelays([A])).toBe(false)
    offers.stop()
    identified(events, A, ['/ipfs/id/1.0.0'])
    expect(offers.noneRelays([A])).toBe(false)
  })

  it('read as one line saying what to do', () => {
    expect(userMessage(new PeerError('no-relay', `${A} does not run the relay role`)))
      .toBe(`No anchor you joined through relays (${A} does not run the relay role): join through anchors that run the relay role (anchor option --roles).`)
  })
})
