import { CID_CODECS } from '@meganet/contracts'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'uint8arrays'

export type BlockCodec = keyof typeof CID_CODECS

export class CidError extends Error {
  override readonly name = 'CidError'
}

/** The CIDv1 (sha2-256) of a block. */
export async function cidOf (bytes: Uint8Array, codec: BlockCodec): Promise<CID> {
  return CID.createV1(CID_CODECS[codec], await sha256.digest(bytes))
}

/** Parses a base32 CIDv1 that MegaNet stores: sha2-256, codec raw or json. */
export function parseCid (text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text)
  } catch (err) {
    throw new CidError(`${JSON.stringify(text.slice(0, 80))} is not a CID`, { cause: err })
  }
  if (cid.version !== 1 || cid.multihash.code !== sha256.code) throw new CidError(`${text} is not a CIDv1 with a sha2-256 hash`)
  if (cid.code !== CID_CODECS.raw && cid.code !== CID_CODECS.json) throw new CidError(`${text} has codec 0x${cid.code.toString(16)}; only raw and json blocks are stored`)
  return cid
}

/** True when `bytes` hash to the CID's digest. */
export async function matchesCid (cid: CID, bytes: Uint8Array): Promise<boolean> {
  return equals((await sha256.digest(bytes)).digest, cid.multihash.digest)
}
