import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseCid } from '../blocks/cid.js'
import { decryptChunk, decryptMeta } from './chunk-crypto.js'
import { BLOCK_OVERHEAD_BYTES, DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY } from './constants.js'
import { parseLink } from './link.js'
import { decodeManifest } from './manifest.js'
import { MemoryBlockTransport } from './memory-transport.js'
import { putFile } from './put-file.js'
import { TransferOptionError } from './transfer-options.js'
import type { TransferProgress } from './progress.js'
import type { CID } from 'multiformats/cid'

const KiB = 1024

/** Counts puts in flight; each put waits a little, or until released when `hold` is set. */
class CountingTransport extends MemoryBlockTransport {
  inFlight = 0
  peak = 0
  started = 0
  hold = false
  readonly #waiting: Array<() => void> = []

  override async put (cid: CID, bytes: Uint8Array, options: { pin: boolean }): Promise<void> {
    this.started++
    this.peak = Math.max(this.peak, ++this.inFlight)
    try {
      if (this.hold) await new Promise<void>(resolve => this.#waiting.push(resolve))
      else await sleep(Math.random() * 3)
      await super.put(cid, bytes, options)
    } finally {
      this.inFlight--
    }
  }

  release (): void {
    this.hold = false
    for (const resolve of this.#waiting.splice(0)) resolve()
  }
}

describe('putting a file', () => {
  let dir = ''
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'meganet-put-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  async function fileOf (bytes: Uint8Array, name = 'source.bin'): Promise<string> {
    const path = join(dir, name)
    await writeFile(path, bytes)
    return path
  }

  it('stores encrypted chunks unpinned, in order, and the manifest pinned', async () => {
    const bytes = randomBytes(150 * KiB)
    const transport = new MemoryBlockTransport()
    const result = await putFile(await fileOf(bytes, 'report.pdf'), transport, { chunkSize: 64 * KiB })
    expect(result).toMatchObject({ size: bytes.byteLength, chunks: 3 })
    expect(result.link).toBe(`meganet://${result.manifestCid.toString()}#${result.link.split('#')[1] ?? ''}`)
    expect([...transport.pinned]).toEqual([result.manifestCid.toString()])
    expect(transport.blocks.size).toBe(4)

    const { key } = parseLink(result.link)
    const manifest = decodeManifest(transport.blocks.get(result.manifestCid.toString()) ?? new Uint8Array())
    expect(await decryptMeta(key, manifest.meta)).toEqual({ name: 'report.pdf', size: bytes.byteLength, chunkSize: 64 * KiB })
    expect(manifest.chunks.map(c => c.size)).toEqual([64 * KiB, 64 * KiB, 22 * KiB].map(n => n + BLOCK_OVERHEAD_BYTES))
    const plaintext = await Promise.all(manifest.chunks.map(async (chunk, index) => {
      expect(parseCid(chunk.cid).code).toBe(0x55)
      const block = transport.blocks.get(chunk.cid) ?? new Uint8Array()
      expect(Buffer.from(block).includes(bytes.subarray(0, 32))).toBe(false)
      return await decryptChunk(key, index, block)
    }))
    expect(Buffer.concat(plaintext)).toEqual(bytes)
  })

  it('stores an empty file as a manifest with no chunks', async () => {
    const transport = new MemoryBlockTransport()
    const result = await putFile(await fileOf(new Uint8Array(0)), transport)
    expect(result).toMatchObject({ size: 0, chunks: 0 })
    expect(transport.blocks.size).toBe(1)
    const manifest = decodeManifest(transport.blocks.get(result.manifestCid.toString()) ?? new Uint8Array())
    expect(await decryptMeta(parseLink(result.link).key, manifest.meta)).toEqual({ name: 'source.bin', size: 0, chunkSize: DEFAULT_CHUNK_BYTES })
  })

  it('gives every upload its own key, and records the name it is given', async () => {
    const path = await fileOf(randomBytes(100))
    const transport = new MemoryBlockTransport()
    const a = await putFile(path, transport, { name: 'shared.txt' })
    const b = await putFile(path, transport)
    expect(a.link).not.toBe(b.link)
    const manifest = decodeManifest(transport.blocks.get(a.manifestCid.toString()) ?? new Uint8Array())
    expect((await decryptMeta(parseLink(a.link).key, manifest.meta)).name).toBe('shared.txt')
  })

  it('never has more than `concurrency` puts in flight', async () => {
    const path = await fileOf(randomBytes(200 * KiB))
    for (const concurrency of [1, 3, DEFAULT_CONCURRENCY]) {
      // Puts are held until the limit is reached, so a slow disk (a busy machine) cannot keep the peak below it.
      const transport = new CountingTransport()
      transport.hold = true
      const put = putFile(path, transport, { chunkSize: 4 * KiB, concurrency })
      for (const deadline = Date.now() + 10_000; transport.started < concurrency && Date.now() < deadline;) await sleep(5)
      await sleep(20)
      expect(transport.started).toBe(concurrency)
      transport.release()
      expect((await put).chunks).toBe(50)
      expect(transport.peak).toBe(concurrency)
    }
  })

  it('stops reading while the transport is busy (backpressure)', async () => {
    const transport = new CountingTransport()
    transport.hold = true
    const put = putFile(await fileOf(randomBytes(100 * KiB)), transport, { chunkSize: 1 * KiB, concurrency: 2 })
    await sleep(50)
    expect(transport.started).toBe(2)
    transport.release()
    expect((await put).chunks).toBe(100)
    expect(transport.peak).toBe(2)
  })

  it('reports progress up to the file size', async () => {
    const bytes = randomBytes(10 * KiB + 5)
    const seen: TransferProgress[] = []
    await putFile(await fileOf(bytes), new CountingTransport(), { chunkSize: 1 * KiB, onProgress: p => seen.push(p) })
    expect(seen[0]).toEqual({ bytes: 0, totalBytes: bytes.byteLength })
    expect(seen.at(-1)).toEqual({ bytes: bytes.byteLength, totalBytes: bytes.byteLength })
    expect(seen.map(p => p.bytes)).toEqual([...seen.map(p => p.bytes)].sort((a, b) => a - b))
  })

  it('stops when aborted, without storing a manifest', async () => {
    const transport = new CountingTransport()
    const controller = new AbortController()
    const put = putFile(await fileOf(randomBytes(100 * KiB)), transport, {
      chunkSize: 1 * KiB,
      signal: controller.signal,
      onProgress: p => { if (p.bytes >= 10 * KiB) controller.abort(new Error('interrupted')) }
    })
    await expect(put).rejects.toThrow('interrupted')
    expect(transport.pinned.size).toBe(0)
    expect(transport.started).toBeLessThan(20)
  })

  it('refuses what it cannot store', async () => {
    const transport = new MemoryBlockTransport()
    await expect(putFile(dir, transport)).rejects.toThrow(/is not a regular file/)
    await expect(putFile(join(dir, 'missing'), transport)).rejects.toThrow(/ENOENT/)
    await expect(putFile(await fileOf(randomBytes(10)), transport, { chunkSize: 10 })).rejects.toBeInstanceOf(TransferOptionError)
    await expect(putFile(await fileOf(randomBytes(10)), transport, { concurrency: 0 })).rejects.toBeInstanceOf(TransferOptionError)
    expect(transport.blocks.size).toBe(0)
  })
})
