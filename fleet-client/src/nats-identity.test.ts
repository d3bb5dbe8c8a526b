import { fromSeed } from '@nats-io/nkeys'
import { describe, expect, it } from 'vitest'
import { keyId, signingKeyFromSeed } from './trust/index.js'
import { natsUserOfPeerId, natsUserSeed } from './nats-identity.js'

describe('NATS identity from the libp2p key', () => {
  it('encodes the same Ed25519 key as the user nkey NATS derives from the seed', () => {
    for (const fill of [0, 7, 255]) {
      const seed = new Uint8Array(32).fill(fill)
      const pair = fromSeed(new TextEncoder().encode(natsUserSeed(seed)))
      expect(natsUserOfPeerId(keyId(signingKeyFromSeed(seed)))).toBe(pair.getPublicKey())
      expect(pair.getPublicKey()).toMatch(/^U[A-Z2-7]{55}$/)
    }
  })
})

describe('NATS keys back to PeerIds', () => {
  it('reads the PeerId out of a user nkey and refuses other kinds, lengths and checksums', async () => {
    const { peerIdOfNatsUser, natsAccountOfPeerId } = await import('./nats-identity.js')
    const seed = new Uint8Array(32).fill(3)
    const pair = fromSeed(new TextEncoder().encode(natsUserSeed(seed)))
    const id = keyId(signingKeyFromSeed(seed))
    expect(peerIdOfNatsUser(pair.getPublicKey())).toBe(id)
    expect(peerIdOfNatsUser(natsAccountOfPeerId(id))).toBeUndefined()
    const user = pair.getPublicKey()
    const flipped = user.slice(0, 10) + (user[10] === 'A' ? 'B' : 'A') + user.slice(11)
    expect(peerIdOfNatsUser(flipped)).toBeUndefined()
    expect(peerIdOfNatsUser(user.slice(0, 55))).toBeUndefined()
    expect(peerIdOfNatsUser(user.toLowerCase())).toBeUndefined()
  })
})
