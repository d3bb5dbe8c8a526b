import { describe, expect, it } from 'vitest'
import { autoscaleDecision } from './autoscale.js'
import type { MemberRecord } from '@meganet/contracts'

const autoscaling = { enabled: true, minReplicas: 2, maxReplicas: 10, targetPeersPerAnchor: 100, cooldownSeconds: 60 }

function members (peers: number[]): MemberRecord[] {
  return peers.map((connectedPeers, i) => ({ load: { connectedPeers } as MemberRecord['load'], peerId: String(i) } as MemberRecord))
}

describe('autoscaleDecision', () => {
  it('scales up to carry the load at the target per anchor', () => {
    expect(autoscaleDecision({ autoscaling, replicas: 3, members: members([300, 300, 300]), now: 0 })).toBe(9)
  })
  it('scales down when load falls, never below the minimum', () => {
    expect(autoscaleDecision({ autoscaling, replicas: 6, members: members([10, 10, 10, 10, 10, 10]), now: 0 })).toBe(2)
  })
  it('stays within the tolerance band and during the cooldown', () => {
    expect(autoscaleDecision({ autoscaling, replicas: 3, members: members([110, 110, 110]), now: 0 })).toBeUndefined()
    expect(autoscaleDecision({ autoscaling, replicas: 3, members: members([300, 300, 300]), lastScaleTime: 0, now: 30_000 })).toBeUndefined()
    expect(autoscaleDecision({ autoscaling, replicas: 10, members: members(Array(10).fill(500) as number[]), now: 0 })).toBeUndefined()
  })
  it('does nothing when disabled or blind', () => {
    expect(autoscaleDecision({ autoscaling: { ...autoscaling, enabled: false }, replicas: 3, members: members([900]), now: 0 })).toBeUndefined()
    expect(autoscaleDecision({ autoscaling, replicas: 3, members: [], now: 0 })).toBeUndefined()
  })
})
