import { randomBytes } from 'node:crypto'
import { MAX_HAS_BATCH, MAX_STORE_HEADER_BYTES } from '@meganet/contracts'
import { describe, expect, it } from 'vitest'
import { cidOf } from './cid.js'
import { encodeHeader } from './store-client.js'

describe('store protocol limits', () => {
  it('fit a full has batch of the longest CIDs inside one header frame', async () => {
    const cids = await Promise.all(Array.from({ length: MAX_HAS_BATCH }, async () => (await cidOf(randomBytes(8), 'json')).toString()))
    const header = encodeHeader({ op: 'has', cids, touch: true })
    expect(header.byteLength).toBeLessThan(MAX_STORE_HEADER_BYTES)
  })
})
