import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { fetchFile } from './fetch-file.js'
import type { BlockTransport } from './block-transport.js'
import type { GetFileOptions, GetFileResult } from './fetch-file.js'
import type { FileHandle } from 'node:fs/promises'

export type { GetFileOptions, GetFileResult }

async function writeAll (handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset)
    offset += bytesWritten
  }
}

/** `.<name>.<random>.part` in the same directory, so the final rename stays on one filesystem. */
function tempPathBeside (outPath: string): string {
  return join(dirname(outPath), `.${basename(outPath)}.${randomBytes(6).toString('hex')}.part`)
}

/**
 * Node: fetches a file by its link (see {@link fetchFile}) and writes it to `outPath`. The chunks
 * go, in order, to a temporary file beside `outPath` that is renamed into place only once
 * complete: `outPath` never holds a partial file, and a failure removes the temporary one.
 */
export async function getFile (link: string, transport: BlockTransport, outPath: string, options: GetFileOptions = {}): Promise<GetFileResult> {
  let handle: FileHandle | undefined
  const tempPath = tempPathBeside(outPath)
  try {
    const result = await fetchFile(link, transport, async plaintext => {
      handle ??= await open(tempPath, 'wx')
      await writeAll(handle, plaintext)
    }, options)
    handle ??= await open(tempPath, 'wx') // an empty file
    await handle.sync()
    await handle.close()
    handle = undefined
    await rename(tempPath, outPath)
    return result
  } catch (err) {
    await handle?.close().catch(() => {})
    await rm(tempPath, { force: true })
    throw err
  }
}
