import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { isAnnounced } from './provide-queue.js'

describe('isAnnounced', () => {
  it('announces manifests and not the chunks they list', async () => {
    const bytes = new TextEncoder().encode('{"v":1}')
    expect(isAnnounced(await cidOf(bytes, 'json'))).toBe(true)
    expect(isAnnounced(await cidOf(bytes, 'raw'))).toBe(false)
  })
})
