import type { CID } from 'multiformats/cid'

type GetBlock = (cid: CID) => Promise<Uint8Array>

const checking = new WeakSet<GetBlock>()

/**
 * Marks `get` as returning only bytes it has checked against the CID itself (a peer's store
 * client does), so readers need not hash them again. The mark is on the function: an object
 * that wraps or replaces it (a cache) is checked as usual.
 */
export function checksBlocks<T extends GetBlock> (get: T): T {
  checking.add(get)
  return get
}

export function isCheckingGet (get: GetBlock): boolean {
  return checking.has(get)
}
