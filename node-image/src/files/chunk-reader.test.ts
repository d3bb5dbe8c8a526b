import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { readChunks } from './chunk-reader.js'

describe('reading a blob in chunks', () => {
  async function chunksOf (bytes: Uint8Array, chunkSize: number): Promise<Uint8Array[]> {
    const chunks: Uint8Array[] = []
    for await (const chunk of readChunks(new Blob([bytes]), chunkSize)) chunks.push(chunk)
    return chunks
  }

  it('gives exact slices, the last one shorter', async () => {
    const bytes = randomBytes(2500)
    const chunks = await chunksOf(bytes, 1000)
    expect(chunks.map(c => c.byteLength)).toEqual([1000, 1000, 500])
    expect(Buffer.concat(chunks)).toEqual(bytes)
  })

  it('gives no trailing empty chunk for an exact multiple, and none for an empty blob', async () => {
    expect((await chunksOf(randomBytes(2000), 1000)).map(c => c.byteLength)).toEqual([1000, 1000])
    expect(await chunksOf(new Uint8Array(0), 1000)).toEqual([])
  })

  it('reads only what is pulled', async () => {
    const blob = new Blob([randomBytes(10_000)])
    const slices: number[] = []
    const counting = new Proxy(blob, {
      get (target, property) {
        if (property === 'slice') return (start: number, end: number) => { slices.push(start); return target.slice(start, end) }
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      }
    })
    const chunks = readChunks(counting, 1000)
    await chunks.next()
    await chunks.next()
    expect(slices).toEqual([0, 1000])
    await chunks.return()
  })
})
