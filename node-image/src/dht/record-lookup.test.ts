import { describe, expect, it } from 'vitest'
import { SharedRecordLookups } from './record-lookup.js'
import type { VerifiedPeerRecord } from './peer-records.js'

describe('SharedRecordLookups', () => {
  it('walks once for lookups of one PeerId at once, and not again for a recent miss', async () => {
    const walks: string[] = []
    const state: { answer?: VerifiedPeerRecord } = {}
    const lookups = new SharedRecordLookups(async peerId => {
      walks.push(peerId)
      await new Promise(resolve => setTimeout(resolve, 10))
      return state.answer
    })
    await Promise.all([lookups.lookup('A'), lookups.lookup('A'), lookups.lookup('B')])
    expect(walks).toEqual(['A', 'B'])
    await lookups.lookup('A')
    expect(walks).toEqual(['A', 'B'])
    state.answer = { peerId: 'A', seq: 1n, signedAt: 0, multiaddrs: [], bytes: new Uint8Array() }
    expect(await lookups.lookup('A', Date.now() + 5_000)).toBe(state.answer)
    expect(walks).toEqual(['A', 'B', 'A'])
  })
})
