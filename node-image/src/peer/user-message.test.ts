import { describe, expect, it } from 'vitest'
import { DecryptError } from '../files/chunk-crypto.js'
import { PeerError } from './peer.js'
import { userMessage } from './user-message.js'

describe('userMessage', () => {
  it('names the bad value and says what to do', () => {
    const message = userMessage(new PeerError('not-a-peer-id', '"nobody" is not a PeerId'))
    expect(message).toBe('"nobody" is not a PeerId: paste the whole id (it starts with 12D3Koo) as the other person sees it.')
  })

  it('says why a key does not open a file, on one line', () => {
    const message = userMessage(new DecryptError('cannot decrypt chunk 2: wrong key or the data was altered'))
    expect(message).toMatch(/^The key in this link does not open the file \(wrong key or the data was altered\): ask for the link again/)
    expect(message).not.toContain('\n')
  })

  it('keeps the first line of an unknown error', () => {
    expect(userMessage(new Error('first\nsecond'))).toBe('first')
    expect(userMessage('plain\ntext')).toBe('plain')
  })
})
