import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { getBlob } from './fetch-file.js'
import { MemoryBlockTransport } from './memory-transport.js'
import { putBlob } from './put-blob.js'
import type { TransferProgress } from './progress.js'

describe('files as Blobs (the API pages use)', () => {
  it('puts a File under its own name and gets it back as a Blob, with progress both ways', async () => {
    const bytes = randomBytes(300 * 1024)
    const transport = new MemoryBlockTransport()
    const up: TransferProgress[] = []
    const put = await putBlob(new File([bytes], 'notes.txt'), transport, { chunkSize: 64 * 1024, onProgress: p => up.push(p) })
    expect(put.link).toMatch(/^meganet:\/\/b[a-z2-7]+#[A-Za-z0-9_-]{43}$/)
    expect(put).toMatchObject({ size: bytes.byteLength, chunks: 5 })
    expect(up.at(-1)).toEqual({ bytes: bytes.byteLength, totalBytes: bytes.byteLength })

    const down: TransferProgress[] = []
    const got = await getBlob(put.link, transport, { onProgress: p => down.push(p) })
    expect(got.name).toBe('notes.txt')
    expect(Buffer.from(await got.blob.arrayBuffer())).toEqual(bytes)
    expect(down.map(p => p.bytes)).toEqual([0, 65536, 131072, 196608, 262144, bytes.byteLength])
  })

  it('names a plain Blob "file" unless told otherwise', async () => {
    const transport = new MemoryBlockTransport()
    const plain = await putBlob(new Blob(['x']), transport)
    expect((await getBlob(plain.link, transport)).name).toBe('file')
    const named = await putBlob(new Blob(['x']), transport, { name: 'hello.txt' })
    expect((await getBlob(named.link, transport)).name).toBe('hello.txt')
  })
})
