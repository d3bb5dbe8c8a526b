import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { base58btc } from 'multiformats/bases/base58'
import { afterEach, describe, expect, it, vi } from 'vitest'

describe('the multiaddr PeerId printing patch (patches/README.md, "Per-join costs")', () => {
  afterEach(() => { vi.restoreAllMocks() })

  it('prints a PeerId read from bytes once, and every one as before', async () => {
    const ids = await Promise.all([0, 1].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const text = `/ip4/10.0.0.1/tcp/4001/p2p/${ids[0]}/p2p-circuit/p2p/${ids[1]}`
    const bytes = multiaddr(text).bytes
    const encodes = vi.spyOn(base58btc.encoder, 'encode')
    for (let n = 0; n < 5; n++) expect(multiaddr(Uint8Array.from(bytes)).toString()).toBe(text)
    expect(encodes).toHaveBeenCalledTimes(2)
  })

  it('keeps telling PeerIds apart once it has forgotten the oldest', () => {
    // 5,000 distinct identity-hash PeerIds (more than the 4,096 it keeps), each printed twice.
    const peerIdBytes = (n: number): Uint8Array => Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Uint8Array(28), n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])
    const printed = new Set<string>()
    for (let round = 0; round < 2; round++) {
      for (let n = 0; n < 5_000; n++) {
        const address = multiaddr(Uint8Array.from([0xa5, 0x03, 0x26, ...peerIdBytes(n)]))
        const value = address.getComponents()[0]?.value
        expect(value).toBe(base58btc.baseEncode(peerIdBytes(n)))
        printed.add(value!)
      }
    }
    expect(printed.size).toBe(5_000)
  })
})
