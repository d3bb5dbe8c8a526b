import { MAX_BLOCK_BYTES } from '@meganet/contracts'
import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { BLOCK_OVERHEAD_BYTES, CHUNK_CID_CHARS, DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES } from './constants.js'

describe('file transfer limits', () => {
  it('keep the largest encrypted chunk within one block', () => {
    expect(MAX_CHUNK_BYTES + BLOCK_OVERHEAD_BYTES).toBeLessThanOrEqual(MAX_BLOCK_BYTES)
  })

  it('put the default chunk size within the limits', () => {
    expect(DEFAULT_CHUNK_BYTES).toBeGreaterThanOrEqual(MIN_CHUNK_BYTES)
    expect(DEFAULT_CHUNK_BYTES).toBeLessThanOrEqual(MAX_CHUNK_BYTES)
  })

  it('know how long a chunk CID is', async () => {
    expect((await cidOf(Uint8Array.of(1, 2, 3), 'raw')).toString()).toHaveLength(CHUNK_CID_CHARS)
  })
})
