import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { BlockNotFoundError, MemoryBlockTransport } from './memory-transport.js'

describe('the in-memory block transport', () => {
  it('stores, pins and returns copies of blocks', async () => {
    const transport = new MemoryBlockTransport()
    const block = Uint8Array.of(7, 8, 9)
    const cid = await cidOf(block, 'raw')
    await transport.put(cid, block, { pin: true })
    block[0] = 0
    const read = await transport.get(cid)
    expect(read).toEqual(Uint8Array.of(7, 8, 9))
    read[1] = 0
    expect(await transport.get(cid)).toEqual(Uint8Array.of(7, 8, 9))
    expect(transport.pinned.has(cid.toString())).toBe(true)
  })

  it('rejects unknown blocks', async () => {
    const cid = await cidOf(Uint8Array.of(1), 'raw')
    await expect(new MemoryBlockTransport().get(cid)).rejects.toBeInstanceOf(BlockNotFoundError)
  })
})
