import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AnchorChild } from '@meganet/node/testing'
import { cpuSeconds, cpuSecondsOf, residentBytes } from './process-usage.js'
import { findGoRelay } from './go-relay.js'
import { ask, inboundDials, joinAcross, mib, sampleAnchor, startWorker, stopWorkers } from './reservation-workers.js'
import { podHeapEnv } from './pod-heap.js'
import { quantile } from './stats.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { ReservationWorker } from './reservation-workers.js'

const GOAL_P99_MS = 60_000
const GOAL_RSS_BYTES = 1024 ** 3
const FULL = { peers: 10_000, step: 1_000, deadlineMs: 300_000 }
const SMOKE = { peers: 10, step: 10, deadlineMs: 60_000 }
/**
 * Who the simulated peers are. `go`: go-libp2p peers with the peer library's redial policy (the
 * go-relay tool's `peers`), one process, whose CPU per rejoin is a fraction of the anchor's, so
 * the storm measures the anchor as it would meet a crowd of devices. `js`: js-libp2p peers with
 * the library's own AnchorMesh and keepalive, six processes; on a 2-core machine they take more
 * CPU per rejoin than the anchor and are what the storm then measures.
 */
export type StormPeers = 'go' | 'js'
const WORKERS: Record<StormPeers, { full: number, smoke: number }> = { go: { full: 1, smoke: 1 }, js: { full: 6, smoke: 1 } }
/** As in the capacity benchmark: under the anchor's per-IP cap, a household or a small NAT. */
const PEERS_PER_ADDRESS = 4
const POLL_MS = 1_000
/**
 * The anchor's /status and /metrics, for the progress line, only this often: a scrape walks every
 * connection and `/proc/self/fd`, which at 1 s was about 4% of the restarted anchor's busy time.
 */
const ANCHOR_SAMPLE_MS = 5_000
const RSS_SAMPLE_MS = 250
/** The simulated peers yield the CPU to the anchor: 10,000 of them reconnecting took 1.3 of the 2 cores. */
const WORKER_NICENESS = 10

/** Samples a process's RSS until stopped; the highest seen. */
function rssPeak (pid: number): { stop: () => Promise<number> } {
  let peak = 0
  let running = true
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await residentBytes(pid).catch(() => 0))
      await new Promise(resolve => setTimeout(resolve, RSS_SAMPLE_MS))
    }
  })()
  return { stop: async () => { running = false; await loop; return peak } }
}

/**
 * Connections the simulated peers have closed because the anchor did not answer a ping in time.
 * Asking also starts each worker's event-loop stall maximum afresh, so the storm's stalls are its own.
 */
async function peersClosedUnanswered (workers: readonly ReservationWorker[]): Promise<number> {
  const answers = await Promise.all(workers.map(async worker => await ask(worker, { rejoined: { since: Date.now() } })))
  return answers.reduce((sum, a) => sum + a.closedUnanswered, 0)
}

/**
 * Reconnect storm: peers hold reservations on one anchor (from worker processes, many loopback
 * source addresses, each peer redialling with the peer library's backoff and jitter); the anchor
 * is killed (SIGKILL) and started again at once with the same key and port, as a crashed pod's
 * container is. Measured: how long until each peer holds a reservation again (from the kill),
 * how many never do within the deadline, and the restarted anchor's peak RSS (sampled every
 * 250 ms) against its 1 GiB budget; the anchor runs with the heap flags a 1 GiB pod gets. The
 * worker processes run niced, so the anchor has a core as it would in the world.
 */
export function reconnectStorm (peers: StormPeers): (context: BenchContext) => Promise<BenchResult> {
  return async context => await storm(peers, context)
}

async function storm (peerKind: StormPeers, context: BenchContext): Promise<BenchResult> {
  const plan = { ...(context.smoke ? SMOKE : FULL), workers: WORKERS[peerKind][context.smoke ? 'smoke' : 'full'] }
  const goBinary = peerKind === 'go' ? findGoRelay() : undefined
  if (peerKind === 'go' && goBinary == null) throw new Error('the storm with go-libp2p peers needs the go-relay tool: set MEGANET_GO_RELAY (npm run bench:anchors builds it with test/tools/install-go-relay.sh)')
  const name = peerKind === 'go' ? 'reconnect-storm' : 'reconnect-storm-js'
  const dataDir = await mkdtemp(join(tmpdir(), 'meganet-storm-'))
  const flags = {
    roles: 'bootstrap,relay',
    'relay-max-reservations': String(plan.peers),
    'connections-max': String(plan.peers * 2),
    'shutdown-grace': '1s'
  }
  const env = podHeapEnv(GOAL_RSS_BYTES)
  context.progress('starting the anchor')
  let anchor = await AnchorChild.spawn({ dataDir, env, flags })
  const workers: ReservationWorker[] = []
  try {
    for (let w = 0; w < plan.workers; w++) workers.push(startWorker({ relay: anchor.tcpAddress, peersPerAddress: PEERS_PER_ADDRESS, rejoin: true, niceness: WORKER_NICENESS, ...(goBinary == null ? {} : { goBinary }) }))
    let offered = 0
    const setupFailures: Record<string, number> = {}
    while (offered < plan.peers) {
      const count = Math.min(plan.step, plan.peers - offered)
      const answers = await joinAcross(workers, count, offered)
      offered += count
      for (const answer of answers) {
        for (const [message, n] of Object.entries(answer?.failures ?? {})) setupFailures[message] = (setupFailures[message] ?? 0) + n
      }
      context.progress(`${offered} peers offered, ${(await sampleAnchor(anchor)).reservations} reserved`)
    }
    const before = await sampleAnchor(anchor)
    if (before.reservations === 0) throw new Error(`no peer could reserve: ${JSON.stringify(setupFailures)}`)
    const port = /\/tcp\/(\d+)\//.exec(anchor.tcpAddress)?.[1]
    if (port == null) throw new Error(`no TCP port in ${anchor.tcpAddress}`)

    const peersClosedBefore = await peersClosedUnanswered(workers)
    context.progress(`SIGKILL of the anchor holding ${before.reservations} reservations, and a restart on port ${port}`)
    const killedAt = Date.now()
    await anchor.stop('SIGKILL')
    const restarted = performance.now()
    anchor = await AnchorChild.spawn({ dataDir, env, flags: { ...flags, 'listen-tcp-port': port }, startTimeoutMs: plan.deadlineMs })
    const restartMs = performance.now() - restarted
    const pid = anchor.child.pid
    if (pid == null) throw new Error('the restarted anchor has no pid')
    const peak = rssPeak(pid)
    const cpu0 = await cpuSeconds(pid)
    const generatorCpu0 = await cpuSecondsOf(workers.map(w => w.child))
    let rejoinedMs: number[] = []
    let connectedUnreserved = 0
    // Cores used since the last progress line: says whether the anchor or the simulated peers are the limit.
    let last = { at: Date.now(), anchor: cpu0, generator: generatorCpu0 }
    // Each ask starts a worker's stall maximum afresh: the longest since the last progress line.
    let stallMaxMs = 0
    let stormStallMaxMs = 0
    await context.phase('storm: from the restart until every peer is back', async () => {
      for (;;) {
        const answers = await Promise.all(workers.map(async worker => await ask(worker, { rejoined: { since: killedAt } })))
        rejoinedMs = answers.flatMap(a => a.rejoinedMs)
        connectedUnreserved = answers.reduce((sum, a) => sum + a.connectedUnreserved, 0)
        stallMaxMs = Math.max(stallMaxMs, ...answers.map(a => a.loopDelayMaxMs))
        stormStallMaxMs = Math.max(stormStallMaxMs, stallMaxMs)
        if (rejoinedMs.length >= before.reservations || Date.now() - killedAt > plan.deadlineMs) break
        if (Date.now() - last.at < ANCHOR_SAMPLE_MS) {
          await new Promise(resolve => setTimeout(resolve, POLL_MS))
          continue
        }
        const sample = await sampleAnchor(anchor).catch(() => undefined)
        const now = { at: Date.now(), anchor: sample?.cpuSeconds ?? last.anchor, generator: await cpuSecondsOf(workers.map(w => w.child)) }
        const seconds = Math.max(0.001, (now.at - last.at) / 1000)
        context.progress(`${((Date.now() - killedAt) / 1000).toFixed(0)} s after the kill: ${rejoinedMs.length} of ${before.reservations} peers reserved again, ` +
          `${connectedUnreserved} connected without a reservation, ${answers.reduce((sum, a) => sum + a.disconnected, 0)} not connected; ` +
          `closed for an unanswered ping: ${answers.reduce((sum, a) => sum + a.closedUnanswered, 0) - peersClosedBefore} by peers, ${sample?.closedUnanswered ?? '?'} by the anchor; ` +
          `longest stall of a simulated peer's event loop ${(stallMaxMs / 1000).toFixed(1)} s; ` +
          `cores: anchor ${((now.anchor - last.anchor) / seconds).toFixed(2)}, simulated peers ${((now.generator - last.generator) / seconds).toFixed(2)}`)
        last = now
        stallMaxMs = 0
        await new Promise(resolve => setTimeout(resolve, POLL_MS))
      }
    })
    const stormSeconds = (Math.max(...rejoinedMs, 1)) / 1000
    const anchorCpu = await cpuSeconds(pid) - cpu0
    const generatorCores = (await cpuSecondsOf(workers.map(w => w.child)) - generatorCpu0) / ((Date.now() - killedAt) / 1000)
    const after = await sampleAnchor(anchor)
    // The restarted anchor's counters start at the restart: what each rejoin cost it in dials.
    const inbound = await inboundDials(anchor)
    const peersClosed = await peersClosedUnanswered(workers) - peersClosedBefore
    const peakRss = Math.max(await peak.stop(), after.rssBytes)
    const notRejoined = before.reservations - rejoinedMs.length
    const setupFailed = Object.values(setupFailures).reduce((a, b) => a + b, 0)
    const p99 = quantile(rejoinedMs, 0.99)
    const metrics: Record<string, number> = {
      peersOffered: plan.peers,
      reservationsBeforeKill: before.reservations,
      anchorRssMiBBeforeKill: mib(before.rssBytes),
      anchorRestartMs: restartMs,
      rejoinedPeers: rejoinedMs.length,
      notRejoinedPeers: notRejoined,
      connectedUnreservedAtEnd: connectedUnreserved,
      rejoinP50Ms: quantile(rejoinedMs, 0.5),
      rejoinP90Ms: quantile(rejoinedMs, 0.9),
      rejoinP99Ms: p99,
      rejoinMaxMs: Math.max(...rejoinedMs, 0),
      reservationsHeldAfter: after.reservations,
      anchorPeakRssMiB: mib(peakRss),
      connectionsClosedUnansweredByPeers: peersClosed,
      connectionsClosedUnansweredByAnchor: after.closedUnanswered,
      anchorCpuSecondsInStorm: anchorCpu,
      anchorCpuMsPerRejoin: rejoinedMs.length > 0 ? anchorCpu * 1000 / rejoinedMs.length : 0,
      anchorCoresInStorm: anchorCpu / stormSeconds,
      generatorLoopStallMaxMs: stormStallMaxMs,
      inboundDials: inbound.dials,
      inboundDenied: inbound.denied,
      inboundIntercepted: inbound.intercepted,
      inboundFailedHandshakes: inbound.failedHandshakes,
      inboundUpgraded: inbound.upgraded,
      generatorCoresInStorm: generatorCores
    }
    if (setupFailed > 0) metrics.setupJoinsFailed = setupFailed
    const goalMet = context.smoke ? undefined : notRejoined === 0 && setupFailed === 0 && p99 <= GOAL_P99_MS && peakRss < GOAL_RSS_BYTES
    return {
      name,
      summary: `an anchor holding ${before.reservations} reservations (${peerKind === 'go' ? 'go-libp2p' : 'js-libp2p'} peers in ${plan.workers} process${plan.workers === 1 ? '' : 'es'}) was killed and restarted (${(restartMs / 1000).toFixed(1)} s to serve again): ` +
        `${rejoinedMs.length} peers reserved again, ${notRejoined} not within ${plan.deadlineMs / 1000} s; from the kill p50 ${(quantile(rejoinedMs, 0.5) / 1000).toFixed(1)} s / ` +
        `p99 ${(p99 / 1000).toFixed(1)} s / max ${((metrics.rejoinMaxMs ?? 0) / 1000).toFixed(1)} s (goal p99 ≤ ${GOAL_P99_MS / 1000} s); ` +
        `anchor peak RSS ${mib(peakRss).toFixed(0)} MiB (budget 1024), ${metrics.anchorCpuMsPerRejoin?.toFixed(1)} ms of anchor CPU per rejoin; ` +
        `${inbound.dials} inbound dials since the restart: ${inbound.denied} refused by the connection manager (full handshake slots or a limit), ` +
        `${inbound.intercepted} by the gater, ${inbound.failedHandshakes} failed handshakes, ${inbound.upgraded} connections` +
        (setupFailed > 0 ? `; ${setupFailed} peers failed to join before the kill: ${JSON.stringify(setupFailures)}` : ''),
      metrics,
      ...(goalMet == null ? {} : { goalMet })
    }
  } finally {
    await stopWorkers(workers)
    await anchor.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}
