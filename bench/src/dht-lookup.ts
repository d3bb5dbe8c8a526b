import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { MeganetPeer } from '@meganet/node/peer'
import { BenchFleet } from './bench-fleet.js'
import { quantile } from './stats.js'
import { cpuSeconds, cpuSecondsOf, residentBytes } from './process-usage.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { ChildProcess } from 'node:child_process'

/** The built worker (src/ and dist/ both sit one level below the package root). */
const WORKER_PATH = fileURLToPath(new URL('../dist/dht-peer-worker.js', import.meta.url))
const ANCHORS = 5
const FULL_PEERS = 500
const SMOKE_PEERS = 10
const PEERS_PER_WORKER = 100
const FULL_LOOKUPS = 100
const SMOKE_LOOKUPS = 5
const LOOKUP_TIMEOUT_MS = 10_000

interface Worker { child: ChildProcess, peerIds: string[] }

async function startWorker (anchors: string[], count: number, offset: number): Promise<Worker> {
  const child = spawn(process.execPath, [WORKER_PATH, JSON.stringify({ anchors, count, offset })], { stdio: ['ignore', 'pipe', 'pipe'] })
  const errors: string[] = []
  child.stderr?.on('data', (chunk: Buffer) => { errors.push(chunk.toString()) })
  const lines = createInterface({ input: child.stdout })
  return await new Promise<Worker>((resolve, reject) => {
    child.once('exit', code => reject(new Error(`peer worker exited with ${code}: ${errors.join('')}`)))
    lines.once('line', line => resolve({ child, peerIds: (JSON.parse(line) as { peerIds: string[] }).peerIds }))
  })
}

function pick<T> (values: readonly T[], count: number): T[] {
  const copy = [...values]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy.slice(0, count)
}

/**
 * Peer lookup: N simulated peers (in child processes) hold reservations spread over a fleet of
 * five anchors; a seeker on one anchor looks up random PeerIds through the peer directory
 * (`locate`) and through a DHT walk alone (`peerRouting.findPeer`), latency p50/p99 for each.
 */
export async function dhtLookup (context: BenchContext): Promise<BenchResult> {
  const peerCount = context.smoke ? SMOKE_PEERS : FULL_PEERS
  const lookups = Math.min(context.smoke ? SMOKE_LOOKUPS : FULL_LOOKUPS, Math.floor(peerCount / 2))
  context.progress(`starting NATS and ${ANCHORS} anchors`)
  const fleet = await BenchFleet.start(ANCHORS, { 'relay-max-reservations-per-ip': '0', 'relay-max-circuits-per-peer': '0', roles: 'bootstrap,relay' })
  const workers: Worker[] = []
  let seeker: MeganetPeer | undefined
  try {
    const anchorAddresses = fleet.anchors.map(a => a.tcpAddress)
    const started = performance.now()
    const workerCount = Math.ceil(peerCount / PEERS_PER_WORKER)
    context.progress(`starting ${peerCount} peers in ${workerCount} worker processes`)
    workers.push(...await Promise.all(Array.from({ length: workerCount }, async (_, w) =>
      await startWorker(anchorAddresses, Math.min(PEERS_PER_WORKER, peerCount - w * PEERS_PER_WORKER), w * PEERS_PER_WORKER))))
    const peersUpSeconds = (performance.now() - started) / 1000
    const peerIds = workers.flatMap(w => w.peerIds)
    seeker = await MeganetPeer.create({ anchors: [anchorAddresses[0] as string], allowPrivateAddresses: true })
    await seeker.start()

    // The directory learns of reservations through the fleet: wait until the last peer is listed.
    const last = peerIds[peerIds.length - 1] as string
    const deadline = Date.now() + 20_000
    while ((await seeker.locate(last, LOOKUP_TIMEOUT_MS).catch(() => undefined))?.via === 'dht' && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 250))
    }

    const targets = pick(peerIds, lookups * 2)
    const directoryTargets = targets.slice(0, lookups)
    const dhtTargets = targets.slice(lookups)

    context.progress(`${lookups} directory lookups`)
    const directoryMs: number[] = []
    const via = { anchor: 0, directory: 0, dht: 0 }
    let cpuBefore = { anchors: await cpuSecondsOf(fleet.anchors.map(a => a.child)), seeker: await cpuSeconds(process.pid) }
    let wall = performance.now()
    for (const target of directoryTargets) {
      const t0 = performance.now()
      const found = await seeker.locate(target, LOOKUP_TIMEOUT_MS)
      directoryMs.push(performance.now() - t0)
      via[found.via]++
    }
    const directoryWall = (performance.now() - wall) / 1000
    const directoryAnchorCpu = await cpuSecondsOf(fleet.anchors.map(a => a.child)) - cpuBefore.anchors
    const directorySeekerCpu = await cpuSeconds(process.pid) - cpuBefore.seeker

    context.progress(`${lookups} DHT-only lookups`)
    const dhtMs: number[] = []
    const queriesSent: number[] = []
    let dhtFailures = 0
    let firstFailure = ''
    cpuBefore = { anchors: await cpuSecondsOf(fleet.anchors.map(a => a.child)), seeker: await cpuSeconds(process.pid) }
    wall = performance.now()
    for (const target of dhtTargets) {
      let sent = 0
      const t0 = performance.now()
      try {
        await seeker.node.peerRouting.findPeer(peerIdFromString(target), {
          signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
          onProgress: (event: { type: string }) => { if (event.type === 'kad-dht:query:send-query') sent++ }
        })
        dhtMs.push(performance.now() - t0)
        queriesSent.push(sent)
      } catch (err) {
        dhtFailures++
        if (firstFailure === '') firstFailure = (err as Error).message
      }
    }
    const dhtWall = (performance.now() - wall) / 1000
    const dhtAnchorCpu = await cpuSecondsOf(fleet.anchors.map(a => a.child)) - cpuBefore.anchors
    const dhtSeekerCpu = await cpuSeconds(process.pid) - cpuBefore.seeker
    if (dhtMs.length === 0) throw new Error(`every DHT-only lookup failed (${dhtFailures})`)

    const directoryP50 = quantile(directoryMs, 0.5)
    const dhtP50 = quantile(dhtMs, 0.5)
    const meanQueries = queriesSent.reduce((a, b) => a + b, 0) / queriesSent.length
    let workerRss = 0
    for (const w of workers) if (w.child.pid != null) workerRss += await residentBytes(w.child.pid)
    const metrics: Record<string, number> = {
      anchors: ANCHORS,
      peers: peerCount,
      workerProcesses: workers.length,
      peersUpSeconds,
      lookupsPerMethod: lookups,
      directoryP50Ms: directoryP50,
      directoryP99Ms: quantile(directoryMs, 0.99),
      dhtP50Ms: dhtP50,
      dhtP99Ms: quantile(dhtMs, 0.99),
      dhtToDirectoryP50Ratio: dhtP50 / directoryP50,
      directoryAnchorCpuCoresBusy: directoryAnchorCpu / directoryWall,
      directorySeekerCpuCoresBusy: directorySeekerCpu / directoryWall,
      dhtAnchorCpuCoresBusy: dhtAnchorCpu / dhtWall,
      dhtSeekerCpuCoresBusy: dhtSeekerCpu / dhtWall,
      workerRssBytesPerPeer: workerRss / peerCount
    }
    if (meanQueries > 0) metrics.dhtPeersQueriedMean = meanQueries
    if (via.anchor > 0) metrics.foundViaAnchor = via.anchor
    if (via.directory > 0) metrics.foundViaDirectory = via.directory
    if (via.dht > 0) metrics.foundViaDhtFallback = via.dht
    if (dhtFailures > 0) metrics.dhtFailures = dhtFailures
    return {
      name: 'dht-lookup',
      summary: `${peerCount} peers on ${ANCHORS} anchors: directory p50 ${directoryP50.toFixed(1)} ms / p99 ${metrics.directoryP99Ms?.toFixed(1)} ms ` +
        `(anchor ${via.anchor}, directory ${via.directory}, dht ${via.dht}); DHT-only p50 ${dhtP50.toFixed(1)} ms / p99 ${metrics.dhtP99Ms?.toFixed(1)} ms ` +
        `(${meanQueries.toFixed(1)} peers queried per walk; kad-dht events carry a disjoint-path index, not hops: counted as FIND_NODE queries sent); DHT/directory p50 ${(dhtP50 / directoryP50).toFixed(2)}x` +
        (dhtFailures > 0 ? `; ${dhtFailures} DHT walks failed (first: ${firstFailure})` : ''),
      metrics
    }
  } finally {
    await seeker?.stop().catch(() => {})
    for (const w of workers) w.child.kill('SIGKILL')
    await fleet.stop()
  }
}
