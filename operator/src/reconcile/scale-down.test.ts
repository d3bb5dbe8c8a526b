import { describe, expect, it } from 'vitest'
import { planScaleDown } from './scale-down.js'
import type { MemberRecord } from '@meganet/contracts'

const podName = (i: number): string => `f-anchor-${i}`
function member (ordinal: number, phase: MemberRecord['phase'], blocksLeft?: number): MemberRecord {
  return { pod: podName(ordinal), peerId: `peer-${ordinal}`, phase, ...(blocksLeft != null ? { drain: { startedAt: 0, reservationsLeft: 0, blocksLeft } } : {}) } as MemberRecord
}

describe('planScaleDown', () => {
  const base = { current: 5, desired: 3, podName, storesData: true, force: false }

  it('drains the highest ordinals first and waits for them', () => {
    const plan = planScaleDown({ ...base, members: [0, 1, 2, 3, 4].map(i => member(i, 'serving')) })
    expect(plan).toMatchObject({ kind: 'drain', drain: ['peer-3', 'peer-4'], waitingFor: ['f-anchor-3', 'f-anchor-4'] })
  })

  it('reports progress and removes once every leaving anchor is drained', () => {
    const draining = planScaleDown({ ...base, members: [member(3, 'draining', 7), member(4, 'drained')] })
    expect(draining).toMatchObject({ kind: 'drain', drain: [], progress: 'f-anchor-3: draining (0 reservations, 7 blocks left)' })
    expect(planScaleDown({ ...base, members: [member(3, 'drained'), member(4, 'drained')] })).toEqual({ kind: 'remove', replicas: 3 })
  })

  it('refuses without NATS when anchors store data, unless forced', () => {
    expect(planScaleDown({ ...base, members: undefined })).toMatchObject({ kind: 'refuse' })
    expect(planScaleDown({ ...base, members: undefined, force: true })).toEqual({ kind: 'remove', replicas: 3 })
    expect(planScaleDown({ ...base, members: undefined, storesData: false })).toEqual({ kind: 'remove', replicas: 3 })
  })

  it('does nothing when not scaling down', () => {
    expect(planScaleDown({ ...base, desired: 5, members: [] })).toEqual({ kind: 'none' })
  })
})
