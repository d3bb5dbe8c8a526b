/**
 * How the anchor's Node runtime is sized, shared by the fleet workload (which runs it in a
 * container) and the capacity benchmark (which measures what that buys).
 *
 * Without flags V8 sizes its heap from the machine, not the job: in a container Node gives the
 * old space only about a quarter of the memory limit (256 MiB of 1 GiB, which an anchor's heap
 * passes at 6,000–7,000 reservations), and on a large machine it lets garbage pile up into
 * gigabytes of RSS. The young generation also grows to 2 × 64 MiB under churn.
 */
export const ANCHOR_HEAP = {
  /** Share of the container's memory limit V8's old space may take; the rest is native memory (sockets, buffers, code). */
  oldSpacePercent: 75,
  /** Each of the young generation's two semi-spaces; small enough to not dominate a small pod. */
  semiSpaceMiB: 16
} as const

/**
 * NODE_OPTIONS for an anchor with this memory budget: a fixed old-space size when the budget
 * is known in bytes (benchmarks), a share of the cgroup limit when it is `'container'`.
 */
export function anchorNodeOptions (budget: number | 'container'): string {
  const oldSpace = budget === 'container'
    ? `--max-old-space-size-percentage=${ANCHOR_HEAP.oldSpacePercent}`
    : `--max-old-space-size=${Math.floor(budget / 1024 ** 2 * ANCHOR_HEAP.oldSpacePercent / 100)}`
  return `${oldSpace} --max-semi-space-size=${ANCHOR_HEAP.semiSpaceMiB}`
}
