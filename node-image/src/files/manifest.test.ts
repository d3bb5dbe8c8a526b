import { MAX_BLOCK_BYTES } from '@meganet/contracts'
import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { DEFAULT_CHUNK_BYTES, MIN_CHUNK_BYTES } from './constants.js'
import { checkManifestCapacity, decodeManifest, encodeManifest, ManifestError, maxManifestChunks } from './manifest.js'
import type { Manifest } from '@meganet/contracts'

async function entry (n: number, size: number): Promise<Manifest['chunks'][number]> {
  return { cid: (await cidOf(Uint8Array.of(n & 0xff, n >> 8), 'raw')).toString(), size }
}

describe('manifests', () => {
  it('round-trip through a JSON block', async () => {
    const manifest: Manifest = { v: 1, chunks: [await entry(1, 100), await entry(2, 50)], meta: 'abc_-' }
    const bytes = encodeManifest(manifest)
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual(manifest)
    expect(decodeManifest(bytes)).toEqual(manifest)
  })

  it('allow no chunks (an empty file)', () => {
    expect(decodeManifest(encodeManifest({ v: 1, chunks: [], meta: 'x' })).chunks).toEqual([])
  })

  it('refuse blocks that are not a manifest', async () => {
    expect(() => decodeManifest(Uint8Array.of(0xff, 0xfe))).toThrow(/not UTF-8 JSON/)
    expect(() => decodeManifest(new TextEncoder().encode('{"v":2,"chunks":[],"meta":""}'))).toThrow(ManifestError)
    const extra = { v: 1, chunks: [await entry(1, 10)], meta: '', secret: 'x' }
    expect(() => decodeManifest(new TextEncoder().encode(JSON.stringify(extra)))).toThrow(/malformed manifest/)
    const badCid = { v: 1, chunks: [{ cid: 'hello', size: 1 }], meta: '' }
    expect(() => decodeManifest(new TextEncoder().encode(JSON.stringify(badCid)))).toThrow(/malformed manifest: chunks.0.cid/)
  })

  it('know how many chunks fit in one block', async () => {
    const limit = maxManifestChunks(DEFAULT_CHUNK_BYTES)
    expect(limit).toBeGreaterThan(40_000)
    expect(maxManifestChunks(MIN_CHUNK_BYTES)).toBeGreaterThanOrEqual(limit)
    const one = await entry(1, DEFAULT_CHUNK_BYTES + 28)
    const full: Manifest = { v: 1, chunks: Array.from({ length: limit }, () => one), meta: 'm'.repeat(8192) }
    expect(encodeManifest(full).byteLength).toBeLessThanOrEqual(MAX_BLOCK_BYTES)
  })

  it('refuse files too large for one manifest before anything is stored', () => {
    const limit = maxManifestChunks(MIN_CHUNK_BYTES)
    expect(() => checkManifestCapacity(limit * MIN_CHUNK_BYTES, MIN_CHUNK_BYTES)).not.toThrow()
    expect(() => checkManifestCapacity(limit * MIN_CHUNK_BYTES + 1, MIN_CHUNK_BYTES)).toThrow(/use a larger chunk size/)
  })

  it('refuse to encode a manifest larger than a block', async () => {
    const one = await entry(1, 1024)
    const chunks = Array.from({ length: Math.ceil(MAX_BLOCK_BYTES / 80) }, () => one)
    expect(() => encodeManifest({ v: 1, chunks, meta: '' })).toThrow(/a block holds at most/)
  })
})
