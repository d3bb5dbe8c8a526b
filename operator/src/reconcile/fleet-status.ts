import { isBrowserDialable } from '@meganet/contracts'
import { setCondition } from './conditions.js'
import { peeringSummary } from './peering-status.js'
import type { AnchorFleet, AnchorFleetStatus, MemberRecord } from '@meganet/contracts'
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node'

export interface StatusInput {
  readonly fleet: AnchorFleet
  readonly statefulSet?: V1StatefulSet
  readonly pods: readonly V1Pod[]
  /** Live members, or undefined when NATS is not configured or not reachable. */
  readonly members?: readonly MemberRecord[]
  readonly selector: string
  readonly scaleDown?: { readonly active: boolean, readonly message: string }
  readonly degraded?: string
  readonly now: string
}

/** The fleet's status as observed now: a pure function of what the operator saw. */
export function fleetStatus (input: StatusInput): AnchorFleetStatus {
  const { fleet, statefulSet, pods, members } = input
  const generation = fleet.metadata.generation
  const previous = fleet.status?.conditions ?? []
  const replicas = statefulSet?.status?.replicas ?? 0
  const readyReplicas = statefulSet?.status?.readyReplicas ?? 0
  const desired = fleet.spec.replicas
  const anchors = [...pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en', { numeric: true })).map(pod => {
    const name = pod.metadata?.name ?? ''
    const member = members?.find(m => m.pod === name)
    return {
      pod: name,
      ...(member != null ? { peerId: member.peerId, peers: member.load.connectedPeers, storedBytes: member.load.storedBytes } : {}),
      phase: member?.phase ?? (pod.status?.phase === 'Running' ? 'Unknown' as const : 'Pending' as const)
    }
  })
  const ready = readyReplicas >= desired && replicas === desired && input.scaleDown?.active !== true
  let conditions = setCondition(previous, 'Ready', ready ? 'True' : 'False', ready ? 'AllAnchorsReady' : 'AnchorsNotReady',
    `${readyReplicas} of ${desired} anchors ready`, generation, input.now)
  const progressing = replicas !== desired || readyReplicas < desired
  conditions = setCondition(conditions, 'Progressing', progressing ? 'True' : 'False', progressing ? 'Reconciling' : 'Stable',
    progressing ? `${replicas} anchors, ${desired} wanted` : 'the fleet matches its spec', generation, input.now)
  conditions = setCondition(conditions, 'ScalingDown', input.scaleDown?.active === true ? 'True' : 'False',
    input.scaleDown?.active === true ? 'Draining' : 'Idle', input.scaleDown?.message ?? 'no scale-down under way', generation, input.now)
  conditions = setCondition(conditions, 'Degraded', input.degraded != null ? 'True' : 'False', input.degraded != null ? 'Problem' : 'Healthy',
    input.degraded ?? 'no problems seen', generation, input.now)
  // Only fleets that peer say how: the condition goes when the last peered fleet does.
  const peering = Array.isArray(fleet.spec.peering) && fleet.spec.peering.length > 0 ? peeringSummary(fleet.spec.peering, members) : undefined
  conditions = peering != null
    ? setCondition(conditions, 'Peered', peering.condition.status, peering.condition.reason, peering.condition.message, generation, input.now)
    : conditions.filter(c => c.type !== 'Peered')
  const bootstrap = (members ?? []).filter(m => m.phase === 'serving').flatMap(m => m.multiaddrs).sort()
  const phase = input.degraded != null ? 'Degraded' : input.scaleDown?.active === true ? 'ScalingDown' : ready ? 'Ready' : 'Progressing'
  return {
    ...(generation != null ? { observedGeneration: generation } : {}),
    replicas,
    readyReplicas,
    selector: input.selector,
    phase,
    conditions,
    anchors,
    bootstrap,
    browserAddresses: bootstrap.filter(isBrowserDialable),
    totals: {
      peers: (members ?? []).reduce((sum, m) => sum + m.load.connectedPeers, 0),
      reservations: (members ?? []).reduce((sum, m) => sum + m.load.reservations, 0),
      storedBytes: (members ?? []).reduce((sum, m) => sum + m.load.storedBytes, 0)
    },
    ...(fleet.status?.lastScaleTime != null ? { lastScaleTime: fleet.status.lastScaleTime } : {}),
    ...(peering?.fleets != null ? { peering: peering.fleets } : {})
  }
}
