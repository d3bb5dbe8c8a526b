import { describe, expect, it } from 'vitest'
import { placeBlock, rankAnchors } from './placement.js'

const anchors = Array.from({ length: 10 }, (_, i) => `anchor-${i}`)
const cids = Array.from({ length: 2000 }, (_, i) => `block-${i}`)

describe('rendezvous placement', () => {
  it('is deterministic and independent of the order anchors are listed in', () => {
    expect(placeBlock('x', anchors, 3)).toEqual(placeBlock('x', [...anchors].reverse(), 3))
    expect(rankAnchors('x', anchors)).toHaveLength(10)
  })

  it('spreads blocks evenly', () => {
    const load = new Map<string, number>()
    for (const cid of cids) for (const a of placeBlock(cid, anchors, 3)) load.set(a, (load.get(a) ?? 0) + 1)
    const mean = (cids.length * 3) / anchors.length
    for (const count of load.values()) expect(Math.abs(count - mean) / mean).toBeLessThan(0.15)
  })

  it('moves only the blocks of an anchor that leaves', () => {
    const without = anchors.filter(a => a !== 'anchor-3')
    for (const cid of cids) {
      const before = placeBlock(cid, anchors, 3)
      const after = placeBlock(cid, without, 3)
      const kept = before.filter(a => a !== 'anchor-3')
      expect(after.slice(0, kept.length)).toEqual(kept)
    }
  })
})
