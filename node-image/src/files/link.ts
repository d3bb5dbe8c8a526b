import { CID_CODECS, LINK_SCHEME } from '@meganet/contracts'
import { fromString as bytesFromString, toString as bytesToString } from 'uint8arrays'
import { parseCid } from '../blocks/cid.js'
import { FILE_KEY_BYTES } from './constants.js'
import type { CID } from 'multiformats/cid'

/**
 * The shareable handle of a file: `meganet://<manifest CID>#<base64url file key>`. The key sits
 * in the fragment, which the network never sees. Errors never repeat the key.
 */

export class LinkError extends Error {
  override readonly name = 'LinkError'
}

export interface FileLink {
  readonly manifestCid: CID
  readonly key: Uint8Array
}

const PREFIX = `${LINK_SCHEME}//`
const LINK_SHAPE = `${PREFIX}<cid>#<key>`

export function formatLink (manifestCid: CID, key: Uint8Array): string {
  return `${PREFIX}${manifestCid.toString()}#${bytesToString(key, 'base64url')}`
}

export function parseLink (text: string): FileLink {
  const link = text.trim()
  if (!link.toLowerCase().startsWith(PREFIX)) {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(link)?.[0]
    throw new LinkError(`not a MegaNet link: expected ${LINK_SHAPE}, got ${scheme != null ? `a ${scheme} link` : 'no scheme'}`)
  }
  const rest = link.slice(PREFIX.length)
  const hash = rest.indexOf('#')
  const cidText = (hash < 0 ? rest : rest.slice(0, hash)).replace(/\/$/, '')
  let manifestCid: CID
  try {
    manifestCid = parseCid(cidText)
  } catch (err) {
    throw new LinkError(`bad link: ${(err as Error).message}`, { cause: err })
  }
  if (manifestCid.code !== CID_CODECS.json) throw new LinkError(`bad link: ${cidText} is a raw block, not a file manifest`)
  const keyText = hash < 0 ? '' : rest.slice(hash + 1)
  if (keyText === '') throw new LinkError(`link has no key: expected ${LINK_SHAPE}`)
  if (!/^[A-Za-z0-9_-]+$/.test(keyText)) throw new LinkError('link key is not base64url')
  let key: Uint8Array
  try {
    key = bytesFromString(keyText, 'base64url')
  } catch (err) {
    throw new LinkError('link key is not base64url', { cause: err })
  }
  if (key.byteLength !== FILE_KEY_BYTES) throw new LinkError(`link key is ${key.byteLength} bytes; expected ${FILE_KEY_BYTES} (was the link cut short?)`)
  return { manifestCid, key }
}
