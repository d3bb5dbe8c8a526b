import type { MemberRecord } from '@meganet/contracts'

export type ScaleDownPlan =
  /** Nothing to remove. */
  | { readonly kind: 'none' }
  /** Ask these anchors to drain, and wait. */
  | { readonly kind: 'drain', readonly drain: readonly string[], readonly waitingFor: readonly string[], readonly progress: string }
  /** Every leaving anchor is drained (or forced): lower the StatefulSet to `replicas`. */
  | { readonly kind: 'remove', readonly replicas: number }
  /** Removing would lose data: refuse and say why. */
  | { readonly kind: 'refuse', readonly reason: string }

export interface ScaleDownInput {
  /** Replicas the StatefulSet has now. */
  readonly current: number
  /** Replicas the fleet asks for. */
  readonly desired: number
  readonly podName: (ordinal: number) => string
  /** Live members, or undefined when NATS cannot be reached. */
  readonly members: readonly MemberRecord[] | undefined
  readonly storesData: boolean
  readonly force: boolean
}

/**
 * Safe scale-down: the highest ordinals leave, each only after its anchor reports `drained` (its
 * peers moved, its blocks handed off). An anchor with no live record (its pod never started
 * or already died) holds nothing the fleet can still get from it, so it may go. Without NATS
 * the operator cannot know, and refuses unless forced.
 */
export function planScaleDown (input: ScaleDownInput): ScaleDownPlan {
  if (input.desired >= input.current) return { kind: 'none' }
  if (input.force) return { kind: 'remove', replicas: input.desired }
  if (input.members == null) {
    return input.storesData
      ? { kind: 'refuse', reason: 'cannot reach the fleet over NATS to drain the anchors that would leave; their blocks could be lost (set the force annotation to remove them anyway)' }
      : { kind: 'remove', replicas: input.desired }
  }
  const drain: string[] = []
  const waitingFor: string[] = []
  const parts: string[] = []
  for (let ordinal = input.desired; ordinal < input.current; ordinal++) {
    const pod = input.podName(ordinal)
    const member = input.members.find(m => m.pod === pod)
    if (member == null || member.phase === 'drained') continue
    waitingFor.push(pod)
    if (member.phase !== 'draining') drain.push(member.peerId)
    const left = member.drain
    parts.push(`${pod}: ${member.phase}${left != null ? ` (${left.reservationsLeft} reservations, ${left.blocksLeft ?? 0} blocks left)` : ''}`)
  }
  if (waitingFor.length === 0) return { kind: 'remove', replicas: input.desired }
  return { kind: 'drain', drain, waitingFor, progress: parts.join('; ') }
}
