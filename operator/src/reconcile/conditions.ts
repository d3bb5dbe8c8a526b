import type { Condition, ConditionType } from '@meganet/contracts'

/**
 * Sets one condition: a new status moves `lastTransitionTime`, an unchanged one keeps it (so a
 * reconcile that changes nothing writes nothing).
 */
export function setCondition (
  conditions: readonly Condition[], type: ConditionType, status: Condition['status'], reason: string, message: string,
  generation: number | undefined, now: string
): Condition[] {
  const existing = conditions.find(c => c.type === type)
  const next: Condition = {
    type, status, reason, message,
    lastTransitionTime: existing != null && existing.status === status ? existing.lastTransitionTime : now,
    ...(generation != null ? { observedGeneration: generation } : {})
  }
  return [...conditions.filter(c => c.type !== type), next].sort((a, b) => a.type.localeCompare(b.type))
}
