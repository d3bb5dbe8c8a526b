import { quantile } from '../../bench/src/stats.js'
import { LabNetwork } from './lab-network.js'
import { PAIR_KINDS, PairLane } from './nat-trials.js'
import type { BenchContext, BenchResult } from '../../bench/src/bench-types.js'
import type { PairKind, TrialResult } from './nat-trials.js'

const FULL_TRIALS = 100
const SMOKE_TRIALS = 2
/** Pairs run side by side per kind: each lane is two peer hosts (and their routers). */
const LANES = 6
/** The largest measurement of DCUtR in production (IPFS network, 2025): 70% ± 7.1%. */
export const PRODUCTION_BASELINE = 0.70

interface KindOutcome {
  readonly kind: PairKind
  readonly results: TrialResult[]
  readonly seconds: number
  readonly circuitsOpened: number
}

async function circuitsOpened (network: LabNetwork): Promise<number> {
  let sum = 0
  for (const anchor of network.anchors) sum += await network.anchorMetric(anchor, 'meganet_relay_circuits_opened_total')
  return sum
}

async function runKind (network: LabNetwork, kind: PairKind, trials: number, context: BenchContext): Promise<KindOutcome> {
  const index = PAIR_KINDS.indexOf(kind)
  const lanes: PairLane[] = []
  for (let l = 0; l < LANES; l++) lanes.push(await PairLane.create(network, kind, `b${index}${l}`))
  const results: TrialResult[] = []
  const circuitsBefore = await circuitsOpened(network)
  const started = performance.now()
  let next = 0
  await Promise.all(lanes.map(async lane => {
    while (next < trials) {
      next++
      results.push(await lane.trial(network.anchorAddresses))
      if (results.length % 25 === 0) context.progress(`${kind.name}: ${results.length}/${trials}`)
    }
  }))
  return { kind, results, seconds: (performance.now() - started) / 1000, circuitsOpened: await circuitsOpened(network) - circuitsBefore }
}

function describe ({ results, circuitsOpened: circuits }: KindOutcome): string {
  const direct = results.filter(r => r.direct)
  const times = direct.map(r => r.timeToDirectMs).filter((t): t is number => t != null)
  return `${percent(direct.length, results.length)} direct of ${results.length}` +
    (times.length > 0 ? `, p50 ${quantile(times, 0.5).toFixed(0)} ms, p90 ${quantile(times, 0.9).toFixed(0)} ms` : '') +
    `, relayed bytes after direct ${results.reduce((sum, r) => sum + r.relayedBytesAfterDirect, 0)}` +
    `, ${(circuits / results.length).toFixed(2)} circuits/pair, ${results.filter(r => r.error != null).length} errors`
}

function percent (part: number, whole: number): string {
  return whole === 0 ? '-' : `${(100 * part / whole).toFixed(0)}%`
}

/**
 * Direct connections in the NAT lab: for each pair of NAT kinds, N pairs of fresh peers meet
 * through an anchor's relay and try to go direct (DCUtR over TCP). Per kind: the share that went
 * direct, time from the relayed connection opening to the direct one (p50/p90), relayed
 * connections per pair, message bytes that still crossed the relay after the upgrade, and
 * circuits per pair on the anchors (a retry storm would show there).
 */
export async function natTraversal (context: BenchContext): Promise<BenchResult> {
  const trials = context.smoke ? SMOKE_TRIALS : FULL_TRIALS
  context.progress('building the NAT lab with two anchors')
  const network = await LabNetwork.start('bench', 2)
  const outcomes: KindOutcome[] = []
  try {
    for (const kind of PAIR_KINDS) {
      context.progress(`${kind.name}: ${trials} pairs, ${LANES} at a time`)
      const outcome = await runKind(network, kind, trials, context)
      outcomes.push(outcome)
      // Each kind's outcome as it finishes, so a run cut short still says what it measured.
      context.progress(`${kind.name} done in ${outcome.seconds.toFixed(0)} s: ${describe(outcome)}`)
    }
  } finally {
    await network.stop()
  }
  const metrics: Record<string, number> = { pairs_per_kind: trials, production_baseline_percent: PRODUCTION_BASELINE * 100 }
  const lines: string[] = []
  let goalMet = true
  for (const [i, { kind, results, circuitsOpened: circuits }] of outcomes.entries()) {
    const direct = results.filter(r => r.direct)
    const times = direct.map(r => r.timeToDirectMs).filter((t): t is number => t != null)
    const p50 = times.length > 0 ? quantile(times, 0.5) : NaN
    const p90 = times.length > 0 ? quantile(times, 0.9) : NaN
    const relayedAfter = results.reduce((sum, r) => sum + r.relayedBytesAfterDirect, 0)
    const errors = results.filter(r => r.error != null).length
    const key = `k${i}`
    metrics[`${key}_direct_percent`] = 100 * direct.length / results.length
    metrics[`${key}_time_to_direct_p50_ms`] = p50
    metrics[`${key}_time_to_direct_p90_ms`] = p90
    metrics[`${key}_relayed_bytes_after_direct`] = relayedAfter
    metrics[`${key}_relayed_connections_per_pair`] = results.reduce((sum, r) => sum + r.relayedConnectionsOpened, 0) / results.length
    metrics[`${key}_circuits_per_pair`] = circuits / results.length
    metrics[`${key}_errors`] = errors
    const share = direct.length / results.length
    if (kind.expectDirect) {
      const target = kind.listener === 'full-cone' && kind.dialler === 'full-cone' ? 0.95 : 0.85
      goalMet &&= share >= target && p50 <= 2000 && relayedAfter === 0
    } else {
      goalMet &&= share === 0 && circuits / results.length <= 1
    }
    lines.push(`k${i} ${kind.name}: ${percent(direct.length, results.length)} direct of ${results.length}` +
      (times.length > 0 ? `, p50 ${p50.toFixed(0)} ms` : '') + `, ${(circuits / results.length).toFixed(2)} circuits/pair` +
      (errors > 0 ? `, ${errors} errors` : ''))
  }
  return {
    name: 'nat-traversal',
    summary: `${trials} pairs per NAT kind (DCUtR over TCP, production baseline ${PRODUCTION_BASELINE * 100}%): ${lines.join('; ')}`,
    metrics,
    goalMet
  }
}
