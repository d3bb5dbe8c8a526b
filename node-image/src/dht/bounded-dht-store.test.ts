import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { BoundedDhtStore, DhtRecordLimitError } from './bounded-dht-store.js'

const provider = (cid: string, peer: string): Key => new Key(`/dht/provider/${cid}/${peer}`)
const record = (name: string): Key => new Key(`/dht/record/${name}`)
const bytes = Uint8Array.of(1)

async function all (store: BoundedDhtStore, prefix?: string): Promise<string[]> {
  const keys: string[] = []
  for await (const pair of store.query(prefix != null ? { prefix } : {})) keys.push(pair.key.toString())
  return keys.sort()
}

describe('BoundedDhtStore', () => {
  it('keeps at most the per-peer number of provider records from one provider, and frees them on delete', () => {
    const store = new BoundedDhtStore({ maxRecords: 100, maxRecordsPerPeer: 2, unlimited: peer => peer === 'SELF' })
    store.put(provider('c1', 'P'), bytes)
    store.put(provider('c2', 'P'), bytes)
    store.put(provider('c2', 'P'), bytes)
    expect(() => store.put(provider('c3', 'P'), bytes)).toThrow(DhtRecordLimitError)
    store.put(provider('c3', 'Q'), bytes)
    for (let i = 0; i < 10; i++) store.put(provider(`s${i}`, 'SELF'), bytes)
    expect(store.count('provider')).toBe(13)
    store.delete(provider('c1', 'P'))
    store.put(provider('c3', 'P'), bytes)
    expect(store.has(provider('c3', 'P'))).toBe(true)
  })

  it('caps every kind in total, and attributes value records to the peer whose request stored them', async () => {
    const refused: string[] = []
    const store = new BoundedDhtStore({ maxRecords: 3, maxRecordsPerPeer: 2, unlimited: () => false, onRefused: kind => refused.push(kind) })
    await store.runAs('P', async () => {
      store.put(record('a'), bytes)
      store.put(record('b'), bytes)
      expect(() => store.put(record('c'), bytes)).toThrow(/limit is 2/)
      await Promise.resolve()
    })
    await store.runAs('Q', async () => {
      store.put(record('c'), bytes)
      expect(() => store.put(record('d'), bytes)).toThrow(/at most 3/)
      await Promise.resolve()
    })
    store.put(record('a'), Uint8Array.of(2))
    expect(store.get(record('a'))).toEqual(Uint8Array.of(2))
    expect(refused).toEqual(['value', 'value'])
  })

  it('answers a CID\'s provider query from its index, and full queries with everything', async () => {
    const store = new BoundedDhtStore({ maxRecords: 100, maxRecordsPerPeer: 100, unlimited: () => false })
    store.put(provider('c1', 'P'), bytes)
    store.put(provider('c1', 'Q'), bytes)
    store.put(provider('c2', 'P'), bytes)
    store.put(record('r'), bytes)
    expect(await all(store, '/dht/provider/c1')).toEqual(['/dht/provider/c1/P', '/dht/provider/c1/Q'])
    expect(await all(store, '/dht/provider')).toHaveLength(3)
    expect(await all(store)).toHaveLength(4)
    expect(() => store.get(record('missing'))).toThrow()
  })
})
