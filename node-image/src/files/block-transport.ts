import { matchesCid } from '../blocks/cid.js'
import type { CID } from 'multiformats/cid'

/** Where file blocks go and come from: anchors' stores over the network, or memory in tests. */
export interface BlockTransport {
  /** Stores a block under its CID. Manifests are pinned; chunks live as long as a pinned manifest lists them. */
  put (cid: CID, bytes: Uint8Array, options: { pin: boolean }): Promise<void>
  get (cid: CID): Promise<Uint8Array>
  /** True when `get` returns only bytes it has itself checked against the CID (a peer's anchors). */
  readonly verifiesBlocks?: boolean
}

/** A block whose bytes do not hash to the CID it was asked for. */
export class BlockMismatchError extends Error {
  override readonly name = 'BlockMismatchError'
}

/** Gets a block checked against its CID: by the transport when it says so, otherwise here. */
export async function getVerifiedBlock (transport: BlockTransport, cid: CID): Promise<Uint8Array> {
  const bytes = await transport.get(cid)
  if (transport.verifiesBlocks !== true && !(await matchesCid(cid, bytes))) throw new BlockMismatchError(`block ${cid.toString()} was returned with bytes that do not match its CID`)
  return bytes
}
