import { MAX_HAS_BATCH } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { storeRequest } from './store-client.js'
import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * For each block, how many of these anchors hold it, asked with the store protocol's `has` in
 * batches. An anchor that does not answer holds none. For tests, benchmarks and tools.
 */
export async function replicaCounts (node: Libp2p, anchors: readonly string[], cids: readonly CID[]): Promise<number[]> {
  const counts = cids.map(() => 0)
  for (const anchor of anchors) {
    for (let start = 0; start < cids.length; start += MAX_HAS_BATCH) {
      const batch = cids.slice(start, start + MAX_HAS_BATCH)
      const reply = await storeRequest(node, peerIdFromString(anchor), { op: 'has', cids: batch.map(c => c.toString()) })
        .then(r => r.reply, () => undefined)
      reply?.has?.forEach((held, i) => { if (held) counts[start + i] = (counts[start + i] ?? 0) + 1 })
    }
  }
  return counts
}
