import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { NEWER_RECORD_INTERVAL_MS, NewerRecords } from './newer-records.js'
import type { NewestRecord } from './newer-records.js'

const PEER = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const FRESH = multiaddr('/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWQbWNe92weN9j4wqrMhvYwnMzAeQbNWV3PyouDcj3kMqh/p2p-circuit')

function searches (answer: NewestRecord | undefined): { records: NewerRecords, count: () => number } {
  let count = 0
  const records = new NewerRecords(async () => { count++; return await Promise.resolve(answer) })
  return { records, count: () => count }
}

describe('NewerRecords', () => {
  const signal = new AbortController().signal

  it('gives the addresses of a record newer than the one whose dial failed', async () => {
    const { records } = searches({ seq: 20n, multiaddrs: [FRESH] })
    expect(await records.after(PEER, 10n, signal, 0)).toEqual([FRESH])
  })

  it('gives nothing when the DHT has no newer record, or one with no address to dial', async () => {
    expect(await searches({ seq: 10n, multiaddrs: [FRESH] }).records.after(PEER, 10n, signal, 0)).toBeUndefined()
    expect(await searches(undefined).records.after(PEER, 10n, signal, 0)).toBeUndefined()
    expect(await searches({ seq: 20n, multiaddrs: [] }).records.after(PEER, 10n, signal, 0)).toBeUndefined()
  })

  it('searches for one peer at most once per interval: an offline peer fails every dial', async () => {
    const { records, count } = searches({ seq: 5n, multiaddrs: [FRESH] })
    await records.after(PEER, 10n, signal, 0)
    await records.after(PEER, 10n, signal, NEWER_RECORD_INTERVAL_MS - 1)
    expect(count()).toBe(1)
    await records.after(PEER, 10n, signal, NEWER_RECORD_INTERVAL_MS)
    expect(count()).toBe(2)
  })
})
