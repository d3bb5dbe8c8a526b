import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { MAX_BOOTSTRAP_LIST_LIFETIME_MS } from '@meganet/contracts'
import { BootstrapListCache } from './list-cache.js'
import { BootstrapListError, signBootstrapList, verifyBootstrapList } from './signed-list.js'

async function signed (ttlMs = 60_000) {
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  const list = await signBootstrapList(key, id, [{ peerId: id, multiaddrs: [`/ip4/203.0.113.7/tcp/4001/p2p/${id}`] }], ttlMs)
  return { id, list }
}

describe('signed bootstrap lists', () => {
  it('verify against the signer PeerId', async () => {
    const { id, list } = await signed()
    const verified = await verifyBootstrapList(list, [id])
    expect(verified.anchors[0]?.multiaddrs[0]).toContain('203.0.113.7')
  })

  it('fail when the payload is altered', async () => {
    const { id, list } = await signed()
    const tampered = { ...list, payload: list.payload.replace('203.0.113.7', '198.51.100.66') }
    await expect(verifyBootstrapList(tampered, [id])).rejects.toThrow(/signature does not match/)
  })

  it('fail when signed by an anchor the caller does not trust', async () => {
    const { list } = await signed()
    const other = await signed()
    await expect(verifyBootstrapList(list, [other.id])).rejects.toThrow(/not a trusted anchor/)
  })

  it('fail when a trusted signer is swapped in without its key', async () => {
    const { list } = await signed()
    const other = await signed()
    await expect(verifyBootstrapList({ ...list, signer: other.id }, [other.id])).rejects.toBeInstanceOf(BootstrapListError)
  })

  it('refuse to verify against an empty trust set', async () => {
    const { list } = await signed()
    await expect(verifyBootstrapList(list, [])).rejects.toThrow(/no trusted anchors/)
  })

  it('refuse a list issued in the future or valid for longer than the maximum lifetime', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    const entries = [{ peerId: id, multiaddrs: [`/ip4/203.0.113.7/tcp/4001/p2p/${id}`] }]
    const fiftyYears = 50 * 365 * 24 * 60 * 60 * 1000
    const future = await signBootstrapList(key, id, entries, 60_000, Date.now() + fiftyYears)
    await expect(verifyBootstrapList(future, [id])).rejects.toThrow(/issued in the future/)
    const forever = await signBootstrapList(key, id, entries, fiftyYears)
    await expect(verifyBootstrapList(forever, [id])).rejects.toThrow(/lifetime/)
    const longest = await signBootstrapList(key, id, entries, MAX_BOOTSTRAP_LIST_LIFETIME_MS)
    await expect(verifyBootstrapList(longest, [id])).resolves.toBeDefined()
  })

  it('fail once expired, and on garbage', async () => {
    const { id, list } = await signed(1)
    await expect(verifyBootstrapList(list, [id], Date.now() + 10_000)).rejects.toThrow(/expired/)
    await expect(verifyBootstrapList({ hello: 'world' }, [id])).rejects.toThrow(/not a signed bootstrap list/)
  })
})

describe('the bootstrap list cache', () => {
  it('signs once, serves the same bytes, and signs again when the anchors change or the list ages', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    let entries = [{ peerId: id, multiaddrs: [`/ip4/203.0.113.7/tcp/4001/p2p/${id}`] }]
    const cache = new BootstrapListCache({ key, issuer: id, ttlMs: 86_400_000, refreshMs: 3_600_000 }, () => entries)
    const first = await cache.json(1_000_000)
    expect(await Promise.all([cache.json(1_000_100), cache.json(1_000_200)])).toEqual([first, first])
    entries = [...entries, { peerId: id, multiaddrs: [`/ip4/203.0.113.8/tcp/4001/p2p/${id}`] }]
    const changed = await cache.json(1_000_300)
    expect(changed).not.toBe(first)
    expect(await cache.json(1_000_300 + 3_600_000)).not.toBe(changed)
    expect((await verifyBootstrapList(JSON.parse(changed), [id], 1_000_400)).anchors).toHaveLength(2)
  })
})
