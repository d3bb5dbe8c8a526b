import { quantile } from '../../bench/src/stats.js'
import { LabNetwork } from './lab-network.js'
import { PAIR_KINDS, PairLane } from './nat-trials.js'
import type { BenchContext, BenchResult } from '../../bench/src/bench-types.js'
import type { PairKind, TrialResult } from './nat-trials.js'

const FULL_TRIALS = 100
const SMOKE_TRIALS = 2
/** Pairs run side by side per kind: each lane is two peer hosts (and their routers). */
const LANES = 3
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
  const met = results.filter(r => r.error == null)
  const direct = met.filter(r => r.direct)
  const times = direct.map(r => r.timeToDirectMs).filter((t): t is number => t != null)
  const firstError = results.find(r => r.error != null)?.error
  return `${percent(direct.length, met.length)} direct of ${met.length} that met through the relay` +
    (times.length > 0 ? `, p50 ${quantile(times, 0.5).toFixed(0)} ms, p90 ${quantile(times, 0.9).toFixed(0)} ms` : '') +
    `, relayed bytes after direct ${results.reduce((sum, r) => sum + r.relayedBytesAfterDirect, 0)}` +
    `, ${(circuits / results.length).toFixed(2)} circuits/pair` +
    (firstError != null ? `, ${results.length - met.length} of ${results.length} never met (e.g. ${firstError.slice(0, 120)})` : '') +
    (met.some(r => r.trafficError != null) ? `, ${met.filter(r => r.trafficError != null).length} with a failed message or ping after meeting` : '')
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
export async function natTraversal (context: BenchContext, onKind?: (partial: BenchResult) => Promise<void>): Promise<BenchResult> {
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
      await onKind?.(summarize(outcomes, trials))
    }
  } finally {
    await network.stop()
  }
  return summarize(outcomes, trials)
}

function summarize (outcomes: readonly KindOutcome[], trials: number): BenchResult {
  const metrics: Record<string, number> = { pairs_per_kind: trials, production_baseline_percent: PRODUCTION_BASELINE * 100 }
  const lines: string[] = []
  let goalMet = outcomes.length === PAIR_KINDS.length
  for (const outcome of outcomes) {
    const { kind, results, circuitsOpened: circuits } = outcome
    const i = PAIR_KINDS.indexOf(kind)
    // A trial whose peers never met through the relay (a start or lookup that timed out on a
    // loaded machine) says nothing about hole punching: counted apart, as errors.
    const met = results.filter(r => r.error == null)
    const direct = met.filter(r => r.direct)
    const times = direct.map(r => r.timeToDirectMs).filter((t): t is number => t != null)
    const p50 = times.length > 0 ? quantile(times, 0.5) : NaN
    const p90 = times.length > 0 ? quantile(times, 0.9) : NaN
    const relayedAfter = results.reduce((sum, r) => sum + r.relayedBytesAfterDirect, 0)
    const key = `k${i}`
    metrics[`${key}_pairs_met`] = met.length
    metrics[`${key}_direct_percent`] = met.length === 0 ? NaN : 100 * direct.length / met.length
    metrics[`${key}_time_to_direct_p50_ms`] = p50
    metrics[`${key}_time_to_direct_p90_ms`] = p90
    metrics[`${key}_relayed_bytes_after_direct`] = relayedAfter
    metrics[`${key}_relayed_connections_per_pair`] = met.reduce((sum, r) => sum + r.relayedConnectionsOpened, 0) / Math.max(1, met.length)
    metrics[`${key}_circuits_per_pair`] = circuits / results.length
    metrics[`${key}_errors`] = results.length - met.length
    const share = met.length === 0 ? 0 : direct.length / met.length
    if (kind.expectDirect) {
      const target = kind.listener === 'full-cone' && kind.dialler === 'full-cone' ? 0.95 : 0.85
      goalMet &&= share >= target && p50 <= 2000 && relayedAfter === 0
    } else {
      goalMet &&= share === 0 && circuits / results.length <= 1
    }
    lines.push(`k${i} ${kind.name}: ${describe(outcome)}`)
  }
  return {
    name: 'nat-traversal',
    summary: `${trials} pairs per NAT kind (DCUtR over TCP; production baseline ${PRODUCTION_BASELINE * 100}%): ${lines.join('; ')}`,
    metrics,
    goalMet
  }
}
