import { PROTOCOLS } from '@meganet/contracts'
import { describe, expect, it } from 'vitest'
import { loopbackNodes } from '../net/loopback-node.fixture.js'
import { cidOf } from './cid.js'
import { encodeHeader, storeFrames, storeRequest } from './store-client.js'
import type { StoreReply } from '@meganet/contracts'

const BLOCK_BYTES = 5 * 1024 * 1024

describe('store client', () => {
  const node = loopbackNodes()

  it('sees a refusal that comes while the block is still being written to an anchor that stopped reading', async () => {
    const [peer, anchor] = [await node(), await node()]
    const refusal: StoreReply = { ok: false, code: 'too_large', error: `block of ${BLOCK_BYTES} bytes exceeds the limit` }
    await anchor.handle(PROTOCOLS.store, stream => {
      // Reads nothing more: the muxer sends no window update, so the peer cannot finish writing.
      stream.pause()
      void storeFrames(stream).write(encodeHeader(refusal), AbortSignal.timeout(5_000))
    })
    await peer.dial(anchor.getMultiaddrs())
    const block = new Uint8Array(BLOCK_BYTES)
    const cid = await cidOf(block, 'raw')
    // The peer must not need room it will never get before it reads the answer. (Before it read
    // while writing, it got through only when a window update or a drain of the connection came
    // by after the block was queued.)
    await expect(storeRequest(peer, anchor.peerId, { op: 'put', cid: cid.toString(), size: BLOCK_BYTES }, block, 5_000))
      .rejects.toMatchObject({ code: 'too_large', message: refusal.error })
  })
})
