import { randomBytes } from 'node:crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { blockMatchesCid, writeAll } from './block-bytes.js'
import type { FileHandle } from 'node:fs/promises'

describe('block bytes', () => {
  it('checks a block that arrived in chunks against its CID without joining them', async () => {
    const block = randomBytes(200_000)
    const cid = await cidOf(block, 'raw')
    const chunks = new Uint8ArrayList(block.subarray(0, 65_536), block.subarray(65_536, 70_000), block.subarray(70_000))
    expect(blockMatchesCid(cid, chunks)).toBe(true)
    expect(blockMatchesCid(cid, block)).toBe(true)
    const altered = Uint8Array.from(block)
    altered[150_000] = (altered[150_000] as number) ^ 1
    expect(blockMatchesCid(cid, new Uint8ArrayList(altered.subarray(0, 100), altered.subarray(100)))).toBe(false)
  })

  it('writes every chunk when the file takes fewer bytes per call than offered', async () => {
    const block = randomBytes(10_000)
    const written: Uint8Array[] = []
    // A file that takes at most 3,000 bytes per writev, as a full disk or a signal can make it.
    const handle = {
      writev (buffers: Uint8Array[]) {
        let room = 3_000
        for (const buffer of buffers) {
          const part = buffer.subarray(0, room)
          written.push(Uint8Array.from(part))
          room -= part.byteLength
          if (room === 0) break
        }
        return Promise.resolve({ bytesWritten: 3_000 - room, buffers })
      }
    } as unknown as FileHandle
    await writeAll(handle, new Uint8ArrayList(block.subarray(0, 2_500), block.subarray(2_500, 7_000), block.subarray(7_000)))
    expect(Buffer.concat(written).equals(block)).toBe(true)
  })

  it('fails rather than spins when the file takes nothing', async () => {
    const stuck = { writev: async (buffers: Uint8Array[]) => await Promise.resolve({ bytesWritten: 0, buffers }) } as unknown as FileHandle
    await expect(writeAll(stuck, Uint8Array.of(1, 2, 3))).rejects.toThrow('the block file took no bytes')
  })
})
