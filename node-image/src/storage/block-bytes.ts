import { createHash } from 'node:crypto'
import { equals } from 'uint8arrays'
import type { FileHandle } from 'node:fs/promises'
import type { CID } from 'multiformats/cid'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * A block's bytes on an anchor: one array (read from disk), or the chunks a stream delivered,
 * which are hashed, written and forwarded as they are rather than first copied into one array
 * (a copy and a block-sized allocation per replica, on the path every stored byte takes).
 */
export type BlockBytes = Uint8Array | Uint8ArrayList

export function chunksOf (bytes: BlockBytes): Uint8Array[] {
  return bytes instanceof Uint8Array ? [bytes] : [...bytes]
}

/** True when the bytes hash to the CID's digest (a sha2-256 CID: see `parseCid`). */
export function blockMatchesCid (cid: CID, bytes: BlockBytes): boolean {
  const hash = createHash('sha256')
  for (const chunk of chunksOf(bytes)) hash.update(chunk)
  return equals(hash.digest(), cid.multihash.digest)
}

/** Writes every byte, however many calls the file takes. */
export async function writeAll (handle: FileHandle, bytes: BlockBytes): Promise<void> {
  const rest = chunksOf(bytes)
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest)
    if (bytesWritten === 0 && rest.some(chunk => chunk.byteLength > 0)) throw new Error('the block file took no bytes')
    while (rest.length > 0 && bytesWritten >= (rest[0] as Uint8Array).byteLength) bytesWritten -= (rest.shift() as Uint8Array).byteLength
    if (bytesWritten > 0) rest[0] = (rest[0] as Uint8Array).subarray(bytesWritten)
  }
}
