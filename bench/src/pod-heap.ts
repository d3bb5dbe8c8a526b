import { anchorNodeOptions } from '@meganet/contracts'

/**
 * The environment that gives an anchor the heap flags the fleet workload gives a pod with a
 * `budgetBytes` memory limit, after any `NODE_OPTIONS` of the benchmark's own (so a `--cpu-prof`
 * reaches the anchors too).
 */
export function podHeapEnv (budgetBytes: number): Record<string, string> {
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, anchorNodeOptions(budgetBytes)].filter(Boolean).join(' ') }
}
