import { createHash } from 'node:crypto'

/**
 * Rendezvous (highest random weight) hashing: ranks anchors for a block by
 * sha256(cid ‖ anchor). Every anchor computes the same ranking from the same membership, and
 * when one anchor leaves only the blocks it held move.
 */
export function rankAnchors (cid: string, anchors: readonly string[]): string[] {
  return anchors
    .map(anchor => ({ anchor, score: createHash('sha256').update(cid).update('\0').update(anchor).digest('hex') }))
    .sort((a, b) => (a.score < b.score ? 1 : a.score > b.score ? -1 : 0))
    .map(entry => entry.anchor)
}

/** The `replicas` anchors responsible for a block. */
export function placeBlock (cid: string, anchors: readonly string[], replicas: number): string[] {
  return rankAnchors(cid, anchors).slice(0, replicas)
}
