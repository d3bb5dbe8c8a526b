import { describe, expect, it } from 'vitest'
import * as peer from './index.js'

describe('the peer entry point', () => {
  it('exports the peer, its errors and helpers, and the opt-in buffer scavenger and heap growth', () => {
    expect(Object.keys(peer).sort()).toEqual([
      'BootstrapListError', 'MAX_MESSAGE_BYTES', 'MeganetPeer', 'MessageError', 'PEER_HEAP_GROWTH', 'PEER_SCAVENGER', 'PeerError',
      'fileBootstrapCache', 'isPeerError', 'startBufferScavenger', 'startHeapGrowth', 'storageBootstrapCache', 'userMessage', 'verifyBootstrapList'
    ])
  })
})
