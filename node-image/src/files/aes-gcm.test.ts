import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as nodeCipher from './aes-gcm.js'
import * as webCipher from './aes-gcm.browser.js'
import { BLOCK_OVERHEAD_BYTES } from './constants.js'

const implementations = { 'node:crypto': nodeCipher, WebCrypto: webCipher }
const AAD = new TextEncoder().encode('meganet-chunk:v1:3')

describe.each(Object.entries(implementations))('sealed blocks with %s', (name, sealer) => {
  const opener = name === 'WebCrypto' ? nodeCipher : webCipher

  it('are opened by the other implementation, whatever the size', async () => {
    const key = randomBytes(32)
    for (const size of [0, 1, 15, 16, 17, 65_536, 1024 * 1024 + 3]) {
      const plaintext = randomBytes(size)
      const block = await sealer.sealBlock(key, plaintext, AAD)
      expect(block.byteLength).toBe(size + BLOCK_OVERHEAD_BYTES)
      expect(Buffer.from((await opener.openBlock(key, block, AAD))!).equals(plaintext)).toBe(true)
      expect(Buffer.from((await sealer.openBlock(key, block, AAD))!).equals(plaintext)).toBe(true)
    }
  })

  it('do not open when any byte, the additional data or the key differs, or the block is short', async () => {
    const key = randomBytes(32)
    const block = await sealer.sealBlock(key, randomBytes(100), AAD)
    for (const impl of [nodeCipher, webCipher]) {
      for (const at of [0, 11, 12, 60, block.byteLength - 16, block.byteLength - 1]) {
        const altered = Uint8Array.from(block)
        altered[at] = (altered[at] as number) ^ 1
        expect(await impl.openBlock(key, altered, AAD)).toBeUndefined()
      }
      expect(await impl.openBlock(key, block, new TextEncoder().encode('meganet-chunk:v1:4'))).toBeUndefined()
      expect(await impl.openBlock(randomBytes(32), block, AAD)).toBeUndefined()
      expect(await impl.openBlock(key, block.subarray(0, BLOCK_OVERHEAD_BYTES - 1), AAD)).toBeUndefined()
      expect(await impl.openBlock(key, block.subarray(0, block.byteLength - 1), AAD)).toBeUndefined()
    }
  })
})
