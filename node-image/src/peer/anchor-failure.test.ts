import { describe, expect, it } from 'vitest'
import { anchorFailureReason } from './anchor-failure.js'

function named (name: string, message: string): Error {
  const err = new Error(message)
  err.name = name
  return err
}

describe('why an anchor could not be reached', () => {
  it('tells apart a closed port, another PeerId, a timeout and an unreachable host, inside libp2p\'s aggregate errors', () => {
    const refused = new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:1')], 'All multiaddr dials failed')
    expect(anchorFailureReason(refused)).toMatch(/^nothing listens there/)
    expect(anchorFailureReason(named('UnexpectedPeerError', 'Payload identity key 12D3KooWA does not match expected remote identity key 12D3KooWB'))).toMatch(/another PeerId/)
    expect(anchorFailureReason(named('TimeoutError', 'The operation was aborted due to timeout'))).toMatch(/^no answer in time/)
    expect(anchorFailureReason(new Error('dial failed', { cause: new Error('connect EHOSTUNREACH 10.0.0.1:4001') }))).toMatch(/cannot be reached/)
    expect(anchorFailureReason(new Error('something else\nwith detail'))).toBe('Error: something else')
  })
})
