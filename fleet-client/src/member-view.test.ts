import { describe, expect, it } from 'vitest'
import { encodePayload } from '@meganet/contracts'
import { MemberView } from './member-view.js'
import { keyId, signMemberRecord, signingKeyFromSeed } from './trust/index.js'
import type { MemberRecord } from '@meganet/contracts'

const scope = { region: 'eu', fleet: 'berlin' }
const key = signingKeyFromSeed(new Uint8Array(32).fill(3))
const id = keyId(key)

function record (updatedAt: number, phase: MemberRecord['phase'] = 'serving'): MemberRecord {
  return {
    schema: 1, peerId: id, multiaddrs: [], roles: ['storage'], region: scope.region, fleet: scope.fleet, pod: 'p', phase, version: '1',
    startedAt: 0, updatedAt, heartbeatMs: 1000, load: { connectedPeers: 0, reservations: 0, relayedBytesPerSecond: 0, storedBytes: 0, freeDiskBytes: 0, eventLoopLagSeconds: 0 }
  }
}

async function put (view: MemberView, value: MemberRecord, now: number): Promise<ReturnType<MemberView['apply']>> {
  return view.apply({ key: id, operation: 'PUT', value: encodePayload(await signMemberRecord(key, value)) }, now)
}

describe('MemberView', () => {
  it('keeps the real record over a forgery and an older replay', async () => {
    const view = new MemberView(15_000, scope)
    expect(await put(view, record(1000), 1000)).toMatchObject({ type: 'upsert' })
    const forged = { ...record(1500, 'drained') }
    expect(view.apply({ key: id, operation: 'PUT', value: encodePayload({ signer: id, payload: JSON.stringify(forged), signature: 'A'.repeat(86) }) }, 1500)).toMatchObject({ type: 'rejected', reason: 'bad_signature' })
    expect(await put(view, record(500, 'drained'), 1600)).toMatchObject({ type: 'rejected', reason: 'replayed' })
    expect(view.get(id)?.phase).toBe('serving')
  })

  it('takes a delete as a leave only when the member then stops writing', async () => {
    const view = new MemberView(15_000, scope)
    await put(view, record(1000), 1000)
    expect(view.apply({ key: id, operation: 'DEL', value: new Uint8Array() }, 1100)).toBeUndefined()
    await put(view, record(1400), 1400)
    expect(view.sweep(5000)).toEqual([])
    view.apply({ key: id, operation: 'DEL', value: new Uint8Array() }, 6000)
    expect(view.sweep(6500)).toEqual([])
    expect(view.sweep(8100)).toEqual([id])
    expect(view.size).toBe(0)
  })
})
