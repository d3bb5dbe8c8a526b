import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { anchorNodeOptions } from '@meganet/contracts'
import { AnchorChild } from '@meganet/node/testing'
import { joinAcross, mib, sampleAnchor, startWorker, stopWorkers } from './reservation-workers.js'
import { cpuSecondsOf, residentBytes } from './process-usage.js'
import { quantile } from './stats.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { AnchorSample, ReservationWorker } from './reservation-workers.js'

const GOAL_PEERS = 10_000
const GOAL_RSS_BYTES = 1024 ** 3
/** Issue 17: the anchor's CPU per join (connect, Noise, yamux, reserve). */
const GOAL_CPU_MS_PER_JOIN = 3
/** Past the goal, to see where it breaks; the anchor's reservation cap is raised to match. */
const FULL = { peers: 12_000, step: 1_000, workers: 6 }
const SMOKE = { peers: 10, step: 5, workers: 1 }
/** Under the anchor's default per-IP cap (8): a household or a small NAT. */
const PEERS_PER_ADDRESS = 4
/** A step "blows up" when more than this share of its joins fail, or its p99 exceeds the latency. */
const MAX_FAILURE_SHARE = 0.01
const MAX_P99_MS = 5_000
const SETTLE_MS = 2_000
/** After the ramp, how long the anchor's CPU is read with every peer idle: two rounds of the peers' pings, one of the anchor's. */
const IDLE_WINDOW_MS = { full: 60_000, smoke: 5_000 }

interface Step {
  readonly offered: number
  readonly held: number
  readonly p99Ms: number
  readonly sample: AnchorSample
  readonly seconds: number
  /** Cores the anchor and the load processes kept busy while the step's peers joined. */
  readonly anchorCores: number
  readonly generatorCores: number
}

interface Ramp {
  readonly baseline: AnchorSample
  readonly steps: Step[]
  readonly latencies: number[]
  readonly failures: Record<string, number>
  readonly retried: number
  readonly blewUp: string
  readonly generatorRssBytes: number
  readonly workers: number
  /** The anchor's CPU per held peer per minute while every peer idled after the ramp (keepalives, liveness, timers); not read when the idle window is 0. */
  readonly idleCpuMsPerPeerMinute?: number
}

/** Peers join one anchor in steps until `peers` are offered or a step blows up. */
async function ramp (plan: typeof FULL, idleWindowMs: number, nodeOptions: string, label: string, context: Pick<BenchContext, 'progress' | 'phase'>): Promise<Ramp> {
  const { progress } = context
  const dataDir = await mkdtemp(join(tmpdir(), 'meganet-capacity-'))
  progress(`${label}: starting the anchor (NODE_OPTIONS="${nodeOptions}")`)
  const anchor = await AnchorChild.spawn({
    dataDir,
    // After the benchmark's own NODE_OPTIONS, so that a --cpu-prof (bench --profile) reaches the anchor too.
    env: { NODE_OPTIONS: [process.env.NODE_OPTIONS, nodeOptions].filter(Boolean).join(' ') },
    flags: { roles: 'bootstrap,relay', 'relay-max-reservations': String(plan.peers), 'connections-max': String(plan.peers * 2), 'shutdown-grace': '1s' }
  })
  const workers: ReservationWorker[] = []
  try {
    for (let w = 0; w < plan.workers; w++) workers.push(startWorker({ relay: anchor.tcpAddress, peersPerAddress: PEERS_PER_ADDRESS }))
    const baseline = await sampleAnchor(anchor)
    const latencies: number[] = []
    const failures: Record<string, number> = {}
    const steps: Step[] = []
    let offered = 0
    let retried = 0
    let blewUp = ''
    while (offered < plan.peers && blewUp === '') {
      const count = Math.min(plan.step, plan.peers - offered)
      const before = await sampleAnchor(anchor)
      const generatorBefore = await cpuSecondsOf(workers.map(w => w.child))
      const started = performance.now()
      const answers = await context.phase(`${label}: joins ${offered + 1}-${offered + count}`, async () => await joinAcross(workers, count, offered))
      const seconds = (performance.now() - started) / 1000
      const generatorCores = (await cpuSecondsOf(workers.map(w => w.child)) - generatorBefore) / seconds
      offered += count
      const stepLatencies = answers.flatMap(a => a?.latenciesMs ?? [])
      latencies.push(...stepLatencies)
      let stepFailures = 0
      const stepRetried = answers.reduce((sum, a) => sum + (a?.retried ?? 0), 0)
      retried += stepRetried
      for (const answer of answers) {
        for (const [message, n] of Object.entries(answer?.failures ?? {})) {
          failures[message] = (failures[message] ?? 0) + n
          stepFailures += n
        }
      }
      await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
      const sample = await sampleAnchor(anchor)
      const p99Ms = quantile(stepLatencies, 0.99)
      const anchorCores = (sample.cpuSeconds - before.cpuSeconds) / seconds
      steps.push({ offered, held: sample.reservations, p99Ms, sample, seconds, anchorCores, generatorCores })
      progress(`${label}: ${offered} offered, ${sample.reservations} reserved, ${stepFailures} failed (${stepRetried} needed a retry); join p99 ${p99Ms.toFixed(0)} ms; ` +
        `anchor ${mib(sample.rssBytes).toFixed(0)} MiB RSS, ${mib(sample.heapBytes).toFixed(0)} MiB heap, ` +
        `${anchorCores.toFixed(2)} cores (load processes ${generatorCores.toFixed(2)}) for ${(count / seconds).toFixed(0)} joins/s`)
      if (stepFailures > count * MAX_FAILURE_SHARE) blewUp = `${stepFailures} of ${count} joins failed`
      else if (p99Ms > MAX_P99_MS) blewUp = `join p99 ${p99Ms.toFixed(0)} ms`
    }
    let idleCpuMsPerPeerMinute: number | undefined
    if (idleWindowMs > 0) {
      const idleFrom = await sampleAnchor(anchor)
      await new Promise(resolve => setTimeout(resolve, idleWindowMs))
      const idleTo = await sampleAnchor(anchor)
      idleCpuMsPerPeerMinute = (idleTo.cpuSeconds - idleFrom.cpuSeconds) * 1000 / Math.max(1, idleTo.reservations) / (idleWindowMs / 60_000)
      progress(`${label}: idle for ${idleWindowMs / 1000} s with ${idleTo.reservations} peers: ${idleCpuMsPerPeerMinute.toFixed(2)} ms of anchor CPU per peer per minute`)
    }
    let generatorRssBytes = 0
    for (const worker of workers) if (worker.child.pid != null) generatorRssBytes += await residentBytes(worker.child.pid)
    return { baseline, steps, latencies, failures, retried, blewUp, generatorRssBytes, workers: workers.length, ...(idleCpuMsPerPeerMinute != null ? { idleCpuMsPerPeerMinute } : {}) }
  } finally {
    await stopWorkers(workers)
    await anchor.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

function lastStep (result: Ramp): Step {
  const last = result.steps[result.steps.length - 1]
  if (last == null || last.held === 0) throw new Error(`no peer could reserve: ${JSON.stringify(result.failures)}`)
  return last
}

/**
 * Capacity: peers join one anchor (connect + reserve) in steps, from worker processes that
 * dial from many loopback addresses, until the target or until a step's failures or p99 blow
 * up; after each step the anchor's RSS, heap and reservations are read. The anchor runs with
 * the heap flags the fleet workload gives a pod with a 1 GiB memory limit; the comparator is
 * the same ramp against an anchor with Node's stock heap sizing, up to as many peers.
 */
export async function capacity (context: BenchContext): Promise<BenchResult> {
  const plan = context.smoke ? SMOKE : FULL
  const idleWindowMs = context.smoke ? IDLE_WINDOW_MS.smoke : IDLE_WINDOW_MS.full
  const sized = await ramp(plan, idleWindowMs, anchorNodeOptions(GOAL_RSS_BYTES), 'sized heap', context)
  const last = lastStep(sized)
  const stock = await ramp({ ...plan, peers: last.offered }, 0, '', 'stock heap', context)
  const stockLast = lastStep(stock)
  const held = last.held
  const rssPerPeer = (last.sample.rssBytes - sized.baseline.rssBytes) / held
  const totalJoinSeconds = sized.steps.reduce((sum, s) => sum + s.seconds, 0)
  const atGoal = sized.steps.find(s => s.held >= GOAL_PEERS)
  const metrics: Record<string, number> = {
    peersOffered: last.offered,
    peersHeld: held,
    workerProcesses: sized.workers,
    anchorBaselineRssMiB: mib(sized.baseline.rssBytes),
    anchorRssMiB: mib(last.sample.rssBytes),
    anchorRssKiBPerPeer: rssPerPeer / 1024,
    anchorHeapKiBPerPeer: (last.sample.heapBytes - sized.baseline.heapBytes) / held / 1024,
    anchorCpuMsPerJoin: (last.sample.cpuSeconds - sized.baseline.cpuSeconds) * 1000 / held,
    joinsPerSecond: held / totalJoinSeconds,
    joinP50Ms: quantile(sized.latencies, 0.5),
    joinP99Ms: quantile(sized.latencies, 0.99),
    generatorRssKiBPerPeer: sized.generatorRssBytes / held / 1024,
    lastStepAnchorCores: last.anchorCores,
    lastStepGeneratorCores: last.generatorCores,
    stockHeapPeersHeld: stockLast.held,
    stockHeapRssMiB: mib(stockLast.sample.rssBytes),
    stockToSizedRssRatio: stockLast.sample.rssBytes / last.sample.rssBytes,
    stockHeapJoinP99Ms: quantile(stock.latencies, 0.99)
  }
  if (sized.idleCpuMsPerPeerMinute != null) metrics.anchorIdleCpuMsPerPeerMinute = sized.idleCpuMsPerPeerMinute
  for (const step of sized.steps) metrics[`rssMiBAt${step.held}`] = mib(step.sample.rssBytes)
  const failed = Object.values(sized.failures).reduce((a, b) => a + b, 0)
  if (failed > 0) metrics.joinsFailed = failed
  if (sized.retried > 0) metrics.joinsRetried = sized.retried
  const heldUnderBudget = atGoal != null && atGoal.sample.rssBytes < GOAL_RSS_BYTES
  const cheapJoins = metrics.anchorCpuMsPerJoin != null && metrics.anchorCpuMsPerJoin <= GOAL_CPU_MS_PER_JOIN
  const goalMet = context.smoke ? undefined : heldUnderBudget && cheapJoins
  return {
    name: 'capacity',
    summary: `${held} of ${last.offered} peers held reservations on one anchor (${PEERS_PER_ADDRESS} per source address, ${sized.workers} load processes): ` +
      `anchor ${mib(last.sample.rssBytes).toFixed(0)} MiB RSS (${(rssPerPeer / 1024).toFixed(1)} KiB per peer over a ${mib(sized.baseline.rssBytes).toFixed(0)} MiB baseline), ` +
      `join p50 ${metrics.joinP50Ms?.toFixed(0)} ms / p99 ${metrics.joinP99Ms?.toFixed(0)} ms at ${metrics.joinsPerSecond?.toFixed(0)} joins/s; ` +
      `${GOAL_PEERS} peers under ${mib(GOAL_RSS_BYTES)} MiB: ${heldUnderBudget ? 'met' : 'NOT met'}; ` +
      `the anchor spent ${metrics.anchorCpuMsPerJoin?.toFixed(1) ?? '?'} ms of CPU per join (goal ≤ ${GOAL_CPU_MS_PER_JOIN} ms: ${cheapJoins ? 'met' : 'NOT met'}); ` +
      `idle, the anchor spent ${sized.idleCpuMsPerPeerMinute?.toFixed(2) ?? '?'} ms of CPU per peer per minute; ` +
      `with Node's stock heap sizing the same ramp ended at ${mib(stockLast.sample.rssBytes).toFixed(0)} MiB RSS for ${stockLast.held} peers ` +
      `(${(stockLast.sample.rssBytes / last.sample.rssBytes).toFixed(2)}x); the load generator used ${metrics.generatorRssKiBPerPeer?.toFixed(0)} KiB per simulated peer` +
      (sized.retried > 0 ? `; ${sized.retried} joins needed a second attempt` : '') +
      (sized.blewUp !== '' ? `; stopped: ${sized.blewUp}` : '') + (failed > 0 ? `; failures: ${JSON.stringify(sized.failures)}` : ''),
    metrics,
    ...(goalMet == null ? {} : { goalMet })
  }
}
