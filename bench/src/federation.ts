import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Federation, findNatsServer } from '@meganet/node/testing'
import { BENCH_FLEET_FLAGS } from './bench-fleet.js'
import { quantile } from './stats.js'
import { cpuSecondsOf } from './process-usage.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { OperatorFleet } from '@meganet/node/testing'
import type { ChildProcess } from 'node:child_process'
import type { Interface } from 'node:readline'

/** The built worker (src/ and dist/ both sit one level below the package root). */
const WORKER_PATH = fileURLToPath(new URL('../dist/federation-worker.js', import.meta.url))
const OPERATORS = ['north', 'south', 'east'] as const
const FULL = { anchorsPerFleet: 3, peersPerOperator: 100, pairs: 1000 }
const SMOKE = { anchorsPerFleet: 1, peersPerOperator: 2, pairs: 10 }
const GOALS = { successRate: 0.999, lookupP99Ms: 300, rejoinP99Ms: 30_000 }

type PairResult = { ok: true, lookupMs: number, via: string } | { ok: false, error: string }
interface ReachAnswer { reachedMs: Array<number | null>, lastErrors: string[] }

/** Distinct failure messages with how often each occurred, most frequent first. */
function tally (errors: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const error of errors) if (error !== '') counts.set(error, (counts.get(error) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1]).map(([error, n]) => `${n} x ${error}`).join('; ')
}

/** The peers of one operator, in a child process (federation-worker.ts). */
class OperatorPeers {
  readonly operator: OperatorFleet
  readonly peerIds: string[]
  private readonly child: ChildProcess
  private readonly lines: AsyncIterator<string>

  private constructor (operator: OperatorFleet, child: ChildProcess, lines: Interface, peerIds: string[]) {
    this.operator = operator
    this.child = child
    this.lines = lines[Symbol.asyncIterator]()
    this.peerIds = peerIds
  }

  static async start (operator: OperatorFleet, count: number, cacheDir: string): Promise<OperatorPeers> {
    const input = { bootstrapUrls: operator.bootstrapUrls, pins: operator.pins, count, cacheDir: join(cacheDir, operator.name) }
    const child = spawn(process.execPath, [WORKER_PATH, JSON.stringify(input)], { stdio: ['pipe', 'pipe', 'pipe'] })
    const errors: string[] = []
    child.stderr?.on('data', (chunk: Buffer) => { errors.push(chunk.toString()) })
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    const first = await new Promise<string>((resolve, reject) => {
      child.once('exit', code => { reject(new Error(`${operator.name}'s peer worker exited with ${code}: ${errors.join('').slice(-2000)}`)) })
      lines.once('line', resolve)
    })
    return new OperatorPeers(operator, child, lines, (JSON.parse(first) as { peerIds: string[] }).peerIds)
  }

  async ask<T> (command: unknown): Promise<T> {
    this.child.stdin?.write(JSON.stringify(command) + '\n')
    const next = await this.lines.next()
    if (next.done === true) throw new Error(`${this.operator.name}'s peer worker ended`)
    return JSON.parse(next.value) as T
  }

  /** CPU seconds its process has used so far. */
  async cpuSeconds (): Promise<number> {
    return await cpuSecondsOf([this.child])
  }

  stop (): void {
    this.child.kill('SIGKILL')
  }
}

/** CPU seconds used so far by all anchors (those killed count as 0) and by each group of peer processes. */
async function cpuUse<G extends string> (fed: Federation, groups: Record<G, readonly OperatorPeers[]>): Promise<Record<G | 'anchors', number>> {
  const use = { anchors: await cpuSecondsOf(fed.anchors.map(a => a.child)) } as Record<G | 'anchors', number>
  for (const [name, workers] of Object.entries(groups) as Array<[G, readonly OperatorPeers[]]>) {
    use[name] = (await Promise.all(workers.map(async w => await w.cpuSeconds()))).reduce((a, b) => a + b, 0)
  }
  return use
}

/** Cores used between two {@link cpuUse} samples `seconds` apart, by key. */
function coresBetween<K extends string> (from: Record<K, number>, to: Record<K, number>, seconds: number): Record<K, number> {
  return Object.fromEntries(Object.keys(from).map(key => [key, (to[key as K] - from[key as K]) / seconds])) as Record<K, number>
}

function randomIndex (length: number): number {
  return Math.floor(Math.random() * length)
}

/** `count` random pairs whose ends are on different operators (both among `sources` and `targets`). */
async function crossPairs (sources: readonly OperatorPeers[], targets: readonly OperatorPeers[], count: number): Promise<PairResult[]> {
  const plans = new Map<OperatorPeers, Array<{ from: number, to: string }>>()
  for (let i = 0; i < count; i++) {
    const from = sources[randomIndex(sources.length)] as OperatorPeers
    const others = targets.filter(t => t !== from)
    const to = others[randomIndex(others.length)] as OperatorPeers
    plans.set(from, [...(plans.get(from) ?? []), { from: randomIndex(from.peerIds.length), to: to.peerIds[randomIndex(to.peerIds.length)] as string }])
  }
  const answers = await Promise.all([...plans].map(async ([worker, pairs]) => (await worker.ask<{ results: PairResult[] }>({ op: 'pairs', pairs })).results))
  return answers.flat()
}

function summarize (results: readonly PairResult[]): { rate: number, p50: number, p99: number, firstError: string } {
  const ok = results.filter((r): r is Extract<PairResult, { ok: true }> => r.ok)
  const lookups = ok.map(r => r.lookupMs)
  const failed = results.find((r): r is Extract<PairResult, { ok: false }> => !r.ok)
  return { rate: ok.length / results.length, p50: quantile(lookups, 0.5), p99: quantile(lookups, 0.99), firstError: failed?.error ?? '' }
}

/**
 * Three operators on one machine (own nats-servers, no NATS link, fleets peered through signed
 * bootstrap lists): random cross-operator lookups and messages between their peers, then one
 * operator SIGKILLed whole (anchors and NATS): how fast its peers re-join the others, and
 * lookups and messages to and from them again.
 */
export async function federation (context: BenchContext): Promise<BenchResult> {
  const plan = context.smoke ? SMOKE : FULL
  const natsServer = findNatsServer()
  if (natsServer == null) throw new Error('no nats-server: run test/tools/install-nats-server.sh or set MEGANET_NATS_SERVER')
  context.progress(`starting ${OPERATORS.length} operators with ${plan.anchorsPerFleet} anchors each`)
  const fed = await Federation.start({
    operators: OPERATORS,
    anchorsPerFleet: plan.anchorsPerFleet,
    natsServer,
    // Lists rarely change; at the tests' pace (2 s) nine anchors would fetch and verify two lists each every 2 s.
    peeringRefresh: '30s',
    anchorFlags: {
      ...BENCH_FLEET_FLAGS,
      roles: 'bootstrap,relay',
      // Every peer comes from 127.0.0.1: per-IP and per-network caps would bite.
      'relay-max-reservations-per-ip': '0',
      'relay-max-reservations-per-prefix': '0',
      'relay-max-circuits-per-peer': '0',
      'relay-max-circuits-per-prefix-to-peer': '0'
    }
  })
  const cacheDir = await mkdtemp(join(tmpdir(), 'meganet-bench-federation-'))
  const workers: OperatorPeers[] = []
  try {
    await fed.waitPeered(60_000)
    const peerCount = plan.peersPerOperator * OPERATORS.length
    context.progress(`starting ${peerCount} peers (${plan.peersPerOperator} per operator)`)
    const joinStarted = performance.now()
    const started = await Promise.allSettled(fed.operators.map(async o => await OperatorPeers.start(o, plan.peersPerOperator, cacheDir)))
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value)
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed != null) throw failed.reason
    const joinSeconds = (performance.now() - joinStarted) / 1000
    // Measured from when every peer is findable: peers of each operator reach every peer of the next first.
    const warmup = await Promise.all(workers.map(async (worker, i) => {
      const next = workers[(i + 1) % workers.length] as OperatorPeers
      return await worker.ask<ReachAnswer>({ op: 'reach', targets: next.peerIds })
    }))
    const unreachable = warmup.flatMap(w => w.reachedMs).filter(ms => ms == null).length
    if (unreachable > 0) context.progress(`${unreachable} peers were not findable within 60 s of joining; last failures: ${tally(warmup.flatMap(w => w.lastErrors))}`)

    context.progress(`${plan.pairs} random cross-operator lookups and messages`)
    const pairsCpu = await cpuUse(fed, { peers: workers })
    const pairsStarted = performance.now()
    const before = summarize(await crossPairs(workers, workers, plan.pairs))
    const pairsSeconds = (performance.now() - pairsStarted) / 1000
    const pairsCores = coresBetween(pairsCpu, await cpuUse(fed, { peers: workers }), pairsSeconds)

    const lost = workers[workers.length - 1] as OperatorPeers
    const survivors = workers.filter(w => w !== lost)
    context.progress(`SIGKILL of ${lost.operator.name} (anchors and nats-server); its peers re-join`)
    await fed.kill(lost.operator.name)
    const lossCpu = await cpuUse(fed, { lostPeers: [lost], otherPeers: survivors })
    const killedAt = performance.now()
    const rejoining = lost.ask<{ rejoinMs: Array<number | null> }>({ op: 'rejoin', lost: lost.operator.pins })
    const reaching = (survivors[0] as OperatorPeers).ask<ReachAnswer>({ op: 'reach', targets: lost.peerIds })
    const rejoinMs = (await rejoining).rejoinMs
    const rejoined = rejoinMs.filter((ms): ms is number => ms != null)
    // From the kill until another operator's peer reached it by PeerId: re-joined, and its new record published.
    const reachedAgain = await reaching
    const lossCores = coresBetween(lossCpu, await cpuUse(fed, { lostPeers: [lost], otherPeers: survivors }), (performance.now() - killedAt) / 1000)
    const reachedMs = reachedAgain.reachedMs
    const reached = reachedMs.filter((ms): ms is number => ms != null)
    if (reached.length < reachedMs.length) context.progress(`${reachedMs.length - reached.length} lost peers not reached again; last failures: ${tally(reachedAgain.lastErrors)}`)

    context.progress(`${plan.pairs} random lookups and messages to the lost operator's peers from the others, and back`)
    const after = summarize([
      ...await crossPairs(survivors, [lost], Math.ceil(plan.pairs / 2)),
      ...await crossPairs([lost], survivors, Math.floor(plan.pairs / 2))
    ])
    const rejoinP99 = rejoined.length > 0 ? quantile(rejoined, 0.99) : Number.NaN

    const metrics: Record<string, number> = {
      operators: OPERATORS.length,
      anchorsPerFleet: plan.anchorsPerFleet,
      peers: peerCount,
      joinSeconds,
      peersNotFindableAfterJoin: unreachable,
      pairs: plan.pairs,
      successRate: before.rate,
      lookupP50Ms: before.p50,
      lookupP99Ms: before.p99,
      rejoinP50Ms: rejoined.length > 0 ? quantile(rejoined, 0.5) : Number.NaN,
      rejoinP99Ms: rejoinP99,
      peersNotRejoined: rejoinMs.length - rejoined.length,
      reachableAgainP50Ms: reached.length > 0 ? quantile(reached, 0.5) : Number.NaN,
      reachableAgainP99Ms: reached.length > 0 ? quantile(reached, 0.99) : Number.NaN,
      peersNotReachedAgain: reachedMs.length - reached.length,
      // Cores used (the machine has 2) during the pairs, and from the kill until every lost peer was reached again or given up on.
      anchorCoresDuringPairs: pairsCores.anchors,
      // All anchors' CPU per lookup and message (the lookup's DHT walk, the relayed connection, the message).
      anchorCpuMsPerPair: pairsCores.anchors * pairsSeconds * 1000 / plan.pairs,
      peerCoresDuringPairs: pairsCores.peers,
      anchorCoresAfterLoss: lossCores.anchors,
      lostPeerCoresAfterLoss: lossCores.lostPeers,
      otherPeerCoresAfterLoss: lossCores.otherPeers,
      successRateAfterLoss: after.rate,
      lookupP99MsAfterLoss: after.p99
    }
    const goalMet = before.rate >= GOALS.successRate && after.rate >= GOALS.successRate && before.p99 <= GOALS.lookupP99Ms &&
      rejoined.length === rejoinMs.length && reached.length === reachedMs.length && (metrics.reachableAgainP99Ms ?? Number.NaN) <= GOALS.rejoinP99Ms
    return {
      name: 'federation',
      summary: `${OPERATORS.length} operators x ${plan.anchorsPerFleet} anchors, ${peerCount} peers: cross-operator lookup+message ${(before.rate * 100).toFixed(2)}% of ${plan.pairs}, ` +
        `lookup p50 ${before.p50.toFixed(1)} ms / p99 ${before.p99.toFixed(1)} ms; one operator SIGKILLed: ${rejoined.length}/${rejoinMs.length} of its peers re-joined, ` +
        `p50 ${metrics.rejoinP50Ms?.toFixed(0)} ms / p99 ${rejoinP99.toFixed(0)} ms, reachable by PeerId again p50 ${metrics.reachableAgainP50Ms?.toFixed(0)} ms / p99 ${metrics.reachableAgainP99Ms?.toFixed(0)} ms ` +
        `(${reached.length}/${reachedMs.length}); then ${(after.rate * 100).toFixed(2)}% (lookup p99 ${after.p99.toFixed(1)} ms)` +
        (before.firstError !== '' || after.firstError !== '' ? `; first failure: ${before.firstError || after.firstError}` : ''),
      metrics,
      ...(context.smoke ? {} : { goalMet })
    }
  } finally {
    for (const worker of workers) worker.stop()
    await fed.stop('SIGKILL')
    await rm(cacheDir, { recursive: true, force: true })
  }
}
