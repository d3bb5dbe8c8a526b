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
