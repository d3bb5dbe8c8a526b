import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readChunks } from './chunk-reader.js'

describe('reading a file in chunks', () => {
  let dir = ''
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'meganet-chunks-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  async function chunksOf (bytes: Uint8Array, chunkSize: number): Promise<Uint8Array[]> {
    const path = join(dir, 'file')
    await writeFile(path, bytes)
    const handle = await open(path, 'r')
    try {
      const chunks: Uint8Array[] = []
      for await (const chunk of readChunks(handle, chunkSize)) chunks.push(chunk.slice())
      return chunks
    } finally {
      await handle.close()
    }
  }

  it('gives exact slices, the last one shorter', async () => {
    const bytes = randomBytes(2500)
    const chunks = await chunksOf(bytes, 1000)
    expect(chunks.map(c => c.byteLength)).toEqual([1000, 1000, 500])
    expect(Buffer.concat(chunks)).toEqual(bytes)
  })

  it('gives no trailing empty chunk for an exact multiple, and none for an empty file', async () => {
    expect((await chunksOf(randomBytes(2000), 1000)).map(c => c.byteLength)).toEqual([1000, 1000])
    expect(await chunksOf(new Uint8Array(0), 1000)).toEqual([])
  })

  it('reads only what is pulled', async () => {
    const path = join(dir, 'file')
    await writeFile(path, randomBytes(10_000))
    const handle = await open(path, 'r')
    const reads: number[] = []
    const counting = new Proxy(handle, {
      get (target, property, receiver) {
        if (property === 'read') {
          return async (buffer: Uint8Array, offset: number, length: number, position: number) => {
            reads.push(position)
            return await target.read(buffer, offset, length, position)
          }
        }
        const value: unknown = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      }
    })
    try {
      const chunks = readChunks(counting, 1000)
      await chunks.next()
      await chunks.next()
      expect(reads).toEqual([0, 1000])
      await chunks.return()
    } finally {
      await handle.close()
    }
  })
})
