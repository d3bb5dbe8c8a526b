import { isCheckingGet } from '../blocks/checked-get.js'
import { matchesCid } from '../blocks/cid.js'
import type { CID } from 'multiformats/cid'

/** Where file blocks go and come from: anchors' stores over the network, or memory in tests. */
export interface BlockTransport {
  /** Stores a block under its CID. Manifests are pinned; chunks live as long as a pinned manifest lists them. */
  put: (cid: CID, bytes: Uint8Array, options: { pin: boolean }) => Promise<void>
  get: (cid: CID) => Promise<Uint8Array>
}

/** A block whose bytes do not hash to the CID it was asked for. */
export class BlockMismatchError extends Error {
  override readonly name = 'BlockMismatchError'
}

/** Gets a block checked against its CID: here, unless the transport's `get` checks it itself (see `checksBlocks`). */
export async function getVerifiedBlock (transport: BlockTransport, cid: CID): Promise<Uint8Array> {
  const bytes = await transport.get(cid)
  if (!isCheckingGet(transport.get) && !(await matchesCid(cid, bytes))) throw new BlockMismatchError(`block ${cid.toString()} was returned with bytes that do not match its CID`)
  return bytes
}
