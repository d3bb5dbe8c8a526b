import { describe, expect, it } from 'vitest'
import { checksBlocks } from '../blocks/checked-get.js'
import { cidOf } from '../blocks/cid.js'
import { BlockMismatchError, getVerifiedBlock } from './block-transport.js'
import type { BlockTransport } from './block-transport.js'

function serving (bytes: Uint8Array): BlockTransport {
  return { put: async () => {}, get: async () => await Promise.resolve(bytes) }
}

describe('verified block reads', () => {
  it('return a block that matches its CID', async () => {
    const block = Uint8Array.of(1, 2, 3)
    expect(await getVerifiedBlock(serving(block), await cidOf(block, 'raw'))).toEqual(block)
  })

  it('fail clearly when the transport returns other bytes', async () => {
    const cid = await cidOf(Uint8Array.of(1, 2, 3), 'raw')
    const read = getVerifiedBlock(serving(Uint8Array.of(1, 2, 4)), cid)
    await expect(read).rejects.toBeInstanceOf(BlockMismatchError)
    await expect(getVerifiedBlock(serving(Uint8Array.of()), cid)).rejects.toThrow(`block ${cid.toString()} was returned with bytes that do not match its CID`)
  })

  it('leave the check to a get that checks every block itself, and only to that get', async () => {
    const cid = await cidOf(Uint8Array.of(1, 2, 3), 'raw')
    // Such a get never returns other bytes; these show that the bytes are not hashed again.
    const checking: BlockTransport = { put: async () => {}, get: checksBlocks(async () => await Promise.resolve(Uint8Array.of(9))) }
    expect(await getVerifiedBlock(checking, cid)).toEqual(Uint8Array.of(9))
    // A transport built from it with another get (a cache, say) is checked again.
    const wrapped: BlockTransport = { ...checking, get: async () => await Promise.resolve(Uint8Array.of(9)) }
    await expect(getVerifiedBlock(wrapped, cid)).rejects.toBeInstanceOf(BlockMismatchError)
  })
})
