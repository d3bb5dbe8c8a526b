import { describe, expect, it } from 'vitest'
import { rankAnchors } from '../storage/placement.js'
import { placementOrder } from './placement-order.js'

describe('placementOrder', () => {
  it('ranks anchors for a block exactly as the fleet places it', async () => {
    const anchors = Array.from({ length: 12 }, (_, i) => `12D3KooWanchor${i}`)
    for (let i = 0; i < 200; i++) {
      const cid = `bafkreiblock${i}`
      expect(await placementOrder(cid, anchors, a => a)).toEqual(rankAnchors(cid, anchors))
    }
  })
})
