import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { BlockMismatchError } from './block-transport.js'
import { DecryptError, encryptChunk } from './chunk-crypto.js'
import { DEFAULT_CHUNK_BYTES } from './constants.js'
import { getFile } from './get-file.js'
import { formatLink, LinkError, parseLink } from './link.js'
import { decodeManifest, encodeManifest, ManifestError } from './manifest.js'
import { BlockNotFoundError, MemoryBlockTransport } from './memory-transport.js'
import { putFile } from './put-file.js'
import type { TransferProgress } from './progress.js'
import type { Manifest } from '@meganet/contracts'
import type { CID } from 'multiformats/cid'

const KiB = 1024
const MiB = 1024 * KiB

/** Answers gets after random delays (so they finish out of order) and counts them in flight. */
class SlowTransport extends MemoryBlockTransport {
  inFlight = 0
  peak = 0
  gets = 0
  /** Replaces the bytes of the nth get (from 0), or fails it when it returns an Error. */
  tamper?: (nth: number, bytes: Uint8Array) => Uint8Array | Error

  override async get (cid: CID): Promise<Uint8Array> {
    const nth = this.gets++
    this.peak = Math.max(this.peak, ++this.inFlight)
    try {
      await sleep(Math.random() * 4)
      const bytes = await super.get(cid)
      const replaced = this.tamper?.(nth, bytes) ?? bytes
      if (replaced instanceof Error) throw replaced
      return replaced
    } finally {
      this.inFlight--
    }
  }
}

describe('getting a file', () => {
  let dir = ''
  let outDir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meganet-get-'))
    outDir = join(dir, 'out')
    await mkdir(outDir)
  })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  async function shared (bytes: Uint8Array, chunkSize?: number): Promise<{ link: string, transport: SlowTransport }> {
    const source = join(dir, 'source.bin')
    await writeFile(source, bytes)
    const transport = new SlowTransport()
    const { link } = await putFile(source, transport, chunkSize != null ? { chunkSize } : {})
    return { link, transport }
  }

  /** Stores an edited copy of the link's manifest and returns a link to it with the same key. */
  async function editManifest (link: string, transport: MemoryBlockTransport, edit: (manifest: Manifest) => Promise<Manifest> | Manifest): Promise<string> {
    const { manifestCid, key } = parseLink(link)
    const manifest = decodeManifest(await transport.get(manifestCid))
    const bytes = encodeManifest(await edit(manifest))
    const cid = await cidOf(bytes, 'json')
    await transport.put(cid, bytes, { pin: true })
    return formatLink(cid, key)
  }

  const cases: Array<[string, number, number?]> = [
    ['an empty file', 0],
    ['one byte', 1],
    ['exactly one chunk', 64 * KiB, 64 * KiB],
    ['several small chunks', 200 * KiB + 7, 64 * KiB],
    ['a few MiB in 64 KiB chunks', 3 * MiB + 123, 64 * KiB],
    ['a few MiB in default chunks', 2.5 * MiB]
  ]
  for (const [what, size, chunkSize] of cases) {
    it(`round-trips ${what}`, async () => {
      const bytes = randomBytes(size)
      const { link, transport } = await shared(bytes, chunkSize)
      const out = join(outDir, 'copy.bin')
      expect(await getFile(link, transport, out)).toEqual({ name: 'source.bin', size })
      expect(await readFile(out)).toEqual(bytes)
      expect(await readdir(outDir)).toEqual(['copy.bin'])
      expect(transport.gets).toBe(1 + Math.ceil(size / (chunkSize ?? DEFAULT_CHUNK_BYTES)))
    })
  }

  it('never has more than `concurrency` gets in flight, and reports progress in order', async () => {
    const bytes = randomBytes(100 * KiB)
    const { link, transport } = await shared(bytes, 2 * KiB)
    const seen: TransferProgress[] = []
    await getFile(link, transport, join(outDir, 'copy.bin'), { concurrency: 3, onProgress: p => seen.push(p) })
    expect(transport.peak).toBe(3)
    expect(seen).toHaveLength(51)
    expect(seen.map(p => p.bytes)).toEqual(Array.from({ length: 51 }, (_, i) => Math.min(i * 2 * KiB, bytes.byteLength)))
    expect(await readFile(join(outDir, 'copy.bin'))).toEqual(bytes)
  })

  it('fails clearly with the wrong key and writes nothing', async () => {
    const { link, transport } = await shared(randomBytes(1000))
    const wrong = `${link.split('#')[0] ?? ''}#${Buffer.from(randomBytes(32)).toString('base64url')}`
    const get = getFile(wrong, transport, join(outDir, 'copy.bin'))
    await expect(get).rejects.toBeInstanceOf(DecryptError)
    await expect(get).rejects.toThrow('cannot decrypt the file details: wrong key or the data was altered')
    expect(await readdir(outDir)).toEqual([])
  })

  it('fails clearly on a tampered chunk that matches its (new) CID', async () => {
    const { link, transport } = await shared(randomBytes(10 * KiB), 2 * KiB)
    const forged = await editManifest(link, transport, async manifest => {
      const chunks = [...manifest.chunks]
      const altered = (transport.blocks.get(chunks[2]?.cid ?? '') ?? new Uint8Array()).slice()
      altered[20] = (altered[20] ?? 0) ^ 0xff
      const cid = await cidOf(altered, 'raw')
      await transport.put(cid, altered, { pin: false })
      chunks[2] = { cid: cid.toString(), size: altered.byteLength }
      return { ...manifest, chunks }
    })
    const get = getFile(forged, transport, join(outDir, 'copy.bin'))
    await expect(get).rejects.toBeInstanceOf(DecryptError)
    await expect(get).rejects.toThrow('cannot decrypt chunk 2: wrong key or the data was altered')
    expect(await readdir(outDir)).toEqual([])
  })

  it('fails when chunks are swapped', async () => {
    const { link, transport } = await shared(randomBytes(10 * KiB), 2 * KiB)
    const swapped = await editManifest(link, transport, manifest => {
      const [first, second, ...rest] = manifest.chunks
      return first != null && second != null ? { ...manifest, chunks: [second, first, ...rest] } : manifest
    })
    await expect(getFile(swapped, transport, join(outDir, 'copy.bin'))).rejects.toThrow(/cannot decrypt chunk (0|1)/)
  })

  it('fails when the manifest disagrees with the file details', async () => {
    const { link, transport } = await shared(randomBytes(10 * KiB), 2 * KiB)
    const truncated = await editManifest(link, transport, manifest => ({ ...manifest, chunks: manifest.chunks.slice(0, -1) }))
    await expect(getFile(truncated, transport, join(outDir, 'copy.bin'))).rejects.toThrow(ManifestError)
    await expect(getFile(truncated, transport, join(outDir, 'copy.bin'))).rejects.toThrow('the chunks hold 8192 bytes but the file is 10240 bytes')
    expect(await readdir(outDir)).toEqual([])
  })

  it('fails clearly when the transport returns bytes that do not match the CID, leaving nothing behind', async () => {
    const { link, transport } = await shared(randomBytes(20 * KiB), 1 * KiB)
    transport.tamper = (nth, bytes) => {
      if (nth !== 12) return bytes
      const altered = bytes.slice()
      altered[0] = (altered[0] ?? 0) ^ 1
      return altered
    }
    const get = getFile(link, transport, join(outDir, 'copy.bin'), { concurrency: 2 })
    await expect(get).rejects.toBeInstanceOf(BlockMismatchError)
    expect(await readdir(outDir)).toEqual([])
  })

  it('leaves no partial output when the transport fails midway, and keeps an existing file', async () => {
    const { link, transport } = await shared(randomBytes(50 * KiB), 1 * KiB)
    const out = join(outDir, 'copy.bin')
    await writeFile(out, 'previous contents')
    let written = 0
    transport.tamper = (nth, bytes) => nth === 30 ? new BlockNotFoundError('block went missing') : bytes
    const get = getFile(link, transport, out, { onProgress: p => { written = p.bytes } })
    await expect(get).rejects.toThrow('block went missing')
    expect(written).toBeGreaterThan(0)
    expect(await readdir(outDir)).toEqual(['copy.bin'])
    expect(await readFile(out, 'utf8')).toBe('previous contents')
  })

  it('stops when aborted and removes the temporary file', async () => {
    const { link, transport } = await shared(randomBytes(50 * KiB), 1 * KiB)
    const controller = new AbortController()
    const get = getFile(link, transport, join(outDir, 'copy.bin'), {
      signal: controller.signal,
      onProgress: p => { if (p.bytes >= 5 * KiB) controller.abort(new Error('interrupted')) }
    })
    await expect(get).rejects.toThrow('interrupted')
    expect(await readdir(outDir)).toEqual([])
    expect(transport.gets).toBeLessThan(20)
  })

  it('refuses a bad link before fetching anything', async () => {
    const transport = new SlowTransport()
    await expect(getFile('https://example.com/file', transport, join(outDir, 'x'))).rejects.toBeInstanceOf(LinkError)
    expect(transport.gets).toBe(0)
  })

  it('refuses a chunk block listed as a manifest', async () => {
    const transport = new MemoryBlockTransport()
    const block = await encryptChunk(randomBytes(32), 0, randomBytes(10))
    const cid = await cidOf(block, 'raw')
    await transport.put(cid, block, { pin: false })
    const json = await cidOf(block, 'json')
    await transport.put(json, block, { pin: false })
    await expect(getFile(formatLink(json, randomBytes(32)), transport, join(outDir, 'x'))).rejects.toThrow(/manifest block is not UTF-8 JSON|malformed manifest/)
  })
})
