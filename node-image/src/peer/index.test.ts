import { describe, expect, it } from 'vitest'
import * as peer from './index.js'

describe('the peer entry point', () => {
  it('exports the peer, its errors and helpers, and the opt-in transfer GC', () => {
    expect(Object.keys(peer).sort()).toEqual([
      'BootstrapListError', 'MAX_MESSAGE_BYTES', 'MeganetPeer', 'MessageError', 'PeerError', 'TransferGcError',
      'fileBootstrapCache', 'isPeerError', 'startTransferGc', 'storageBootstrapCache', 'userMessage', 'verifyBootstrapList'
    ])
  })
})
