import type { AnchorFleetSpec, MemberRecord } from '@meganet/contracts'

/** Within this fraction of the target, the fleet is left as it is (hysteresis). */
export const AUTOSCALE_TOLERANCE = 0.2

export interface AutoscaleInput {
  readonly autoscaling: NonNullable<AnchorFleetSpec['autoscaling']>
  readonly replicas: number
  readonly members: readonly MemberRecord[]
  readonly lastScaleTime?: number
  readonly now: number
}

/**
 * The replica count load asks for, or undefined to leave it: connected peers over the target
 * per anchor, between min and max, ignored within the tolerance band and during the cooldown.
 */
export function autoscaleDecision (input: AutoscaleInput): number | undefined {
  const { autoscaling, replicas, members, now } = input
  if (!autoscaling.enabled || members.length === 0) return undefined
  if (input.lastScaleTime != null && now - input.lastScaleTime < autoscaling.cooldownSeconds * 1000) return undefined
  const peers = members.reduce((sum, m) => sum + m.load.connectedPeers, 0)
  const perAnchor = peers / Math.max(1, members.length)
  const ratio = perAnchor / autoscaling.targetPeersPerAnchor
  let desired = replicas
  if (ratio > 1 + AUTOSCALE_TOLERANCE || ratio < 1 - AUTOSCALE_TOLERANCE) desired = Math.ceil(peers / autoscaling.targetPeersPerAnchor)
  desired = Math.min(autoscaling.maxReplicas, Math.max(autoscaling.minReplicas, desired))
  return desired === replicas ? undefined : desired
}
