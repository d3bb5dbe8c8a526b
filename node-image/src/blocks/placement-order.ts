import { sha256 } from 'multiformats/hashes/sha2'
import { compare } from 'uint8arrays/compare'

const encoder = new TextEncoder()

/**
 * `anchors` in the order their fleet ranks them for a block: rendezvous hashing by
 * sha256(cid ‖ 0 ‖ PeerId), highest first, as anchors place blocks (`storage/placement.ts`,
 * which must agree). Runs in browsers too. A peer that sends a put or get to the first of its
 * anchors in this order reaches one of the block's holders whenever it is connected to one,
 * and so saves the fleet a hop.
 */
export async function placementOrder<T> (cid: string, anchors: readonly T[], peerIdOf: (anchor: T) => string): Promise<T[]> {
  const scored = await Promise.all(anchors.map(async anchor => ({
    anchor,
    score: (await sha256.digest(encoder.encode(`${cid}\0${peerIdOf(anchor)}`))).digest
  })))
  return scored.sort((a, b) => compare(b.score, a.score)).map(entry => entry.anchor)
}
