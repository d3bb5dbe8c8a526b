import { openAsBlob } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { PutFileError, putBlob } from './put-blob.js'
import type { BlockTransport } from './block-transport.js'
import type { PutFileOptions, PutFileResult } from './put-blob.js'

export { PutFileError }
export type { PutFileOptions, PutFileResult }

/**
 * Node: encrypts and stores the file at `source` (see {@link putBlob}); its base name is the
 * name recorded unless `options.name` says otherwise.
 */
export async function putFile (source: string, transport: BlockTransport, options: PutFileOptions = {}): Promise<PutFileResult> {
  const info = await stat(source)
  if (!info.isFile()) throw new PutFileError(`${source} is not a regular file`)
  return await putBlob(await openAsBlob(source), transport, { name: basename(source), ...options })
}
