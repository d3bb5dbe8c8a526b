import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { anchorNodeOptions } from '@meganet/contracts'
import { AnchorChild } from '@meganet/node/testing'
import { joinAcross, startWorker } from '../../bench/src/reservation-workers.js'
import { quantile } from '../../bench/src/stats.js'
import { freePorts } from '../cluster/ports.js'
import { BUILD_IMAGES_SCRIPT } from '../cluster/kubelet-node.js'
import { parseExports, runToolScript } from '../cluster/binaries.js'
import type { BenchContext, BenchResult } from '../../bench/src/bench-types.js'
import type { ReservationWorker } from '../../bench/src/reservation-workers.js'

const run = promisify(execFile)
const MEMORY_LIMIT = '1g'
const GOAL_PEERS = 10_000
const FULL = { peers: 10_000, step: 1_000, workers: 6, starts: 5 }
const SMOKE = { peers: 20, step: 10, workers: 1, starts: 1 }
const PEERS_PER_ADDRESS = 4
/** The sandbox's hard nofile limit is 20000: podman may lower limits here, never raise them. */
const ULIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096']

async function podman (args: readonly string[]): Promise<string> {
  const { stdout } = await run('podman', ['--runtime', 'runc', ...args], { maxBuffer: 64 * 1024 * 1024 })
  return stdout.trim()
}

async function imageSize (name: string): Promise<number> {
  return Number(await podman(['image', 'inspect', '--format', '{{.Size}}', name]))
}

/** The anchor in a container: host network (the load comes from many loopback addresses), a real memory limit. */
async function startContainer (image: string, name: string, ports: { tcp: number, http: number }, extra: readonly string[]): Promise<void> {
  await podman(['run', '-d', '--rm', '--name', name, '--network', 'host', '--memory', MEMORY_LIMIT, '--memory-swap', MEMORY_LIMIT, ...ULIMITS,
    '-e', `NODE_OPTIONS=${anchorNodeOptions('container')}`,
    image, 'anchor', '--listen-host', '127.0.0.1', '--listen-tcp-port', String(ports.tcp), '--listen-ws-port', '0',
    '--http-host', '127.0.0.1', '--http-port', String(ports.http), ...extra])
}

async function waitHealthy (url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await fetch(url).then(r => r.ok, () => false)
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function removeContainer (name: string): Promise<void> {
  await podman(['rm', '-f', '-t', '2', name]).catch(() => '')
}

/** Milliseconds from `podman run` to /healthz answering, and the same for a plain process. */
async function startTimes (image: string, count: number): Promise<{ container: number[], process: number[] }> {
  const container: number[] = []
  const processes: number[] = []
  for (let i = 0; i < count; i++) {
    const [tcp, http] = await freePorts(2) as [number, number]
    const name = `meganet-bench-start-${process.pid}-${i}`
    const began = performance.now()
    try {
      await startContainer(image, name, { tcp, http }, [])
      await waitHealthy(`http://127.0.0.1:${http}/healthz`, 60_000)
      container.push(performance.now() - began)
    } finally {
      await removeContainer(name)
    }
    const dataDir = await mkdtemp(join(tmpdir(), 'meganet-bench-start-'))
    const plain = performance.now()
    const anchor = await AnchorChild.spawn({ dataDir, flags: {}, startTimeoutMs: 60_000 })
    try {
      await waitHealthy(anchor.url('/healthz'), 60_000)
      processes.push(performance.now() - plain)
    } finally {
      await anchor.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
  return { container, process: processes }
}

/** The container's cgroup memory: now, at its peak, and how often it hit the limit. */
async function cgroupMemory (name: string): Promise<{ usage: number, peak: number, oomKills: number }> {
  const id = await podman(['inspect', '--format', '{{.Id}}', name])
  const pid = await podman(['inspect', '--format', '{{.State.Pid}}', name])
  const cgroup = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find(l => /:memory:/.test(l))?.split(':')[2] ?? `/libpod_parent/libpod-${id}`
  const read = async (file: string): Promise<string> => await readFile(`/sys/fs/cgroup/memory${cgroup}/${file}`, 'utf8').catch(() => '')
  const oom = /oom_kill (\d+)/.exec(await read('memory.oom_control'))?.[1]
  return { usage: Number(await read('memory.usage_in_bytes')), peak: Number(await read('memory.max_usage_in_bytes')), oomKills: Number(oom ?? 0) }
}

/**
 * Reserved peers held by the anchor image in a container with a 1 GiB memory limit (the
 * default fleet's limit) and the pod's heap flags: the capacity benchmark's load (many peers
 * from many loopback addresses, reservation-worker.js) against the container instead of a
 * plain process, checking the kernel never OOM-killed it.
 */
async function containerCapacity (image: string, plan: typeof FULL, progress: (m: string) => void): Promise<Record<string, number> & { containerPeersHeld: number, containerPeersOffered: number, containerOomKills: number, containerStillRunning: number }> {
  const [tcp, http] = await freePorts(2) as [number, number]
  const name = `meganet-bench-capacity-${process.pid}`
  await startContainer(image, name, { tcp, http }, ['--roles', 'bootstrap,relay', '--relay-max-reservations', String(plan.peers + 100),
    '--connections-max', String(plan.peers * 2), '--log-level', 'warn'])
  const workers: ReservationWorker[] = []
  try {
    await waitHealthy(`http://127.0.0.1:${http}/healthz`, 60_000)
    const status = await (await fetch(`http://127.0.0.1:${http}/status`)).json() as { peerId: string }
    const relay = `/ip4/127.0.0.1/tcp/${tcp}/p2p/${status.peerId}`
    for (let w = 0; w < plan.workers; w++) workers.push(startWorker({ relay, peersPerAddress: PEERS_PER_ADDRESS }))
    const latencies: number[] = []
    let offered = 0
    let failed = 0
    let held = 0
    while (offered < plan.peers) {
      const count = Math.min(plan.step, plan.peers - offered)
      const answers = await joinAcross(workers, count, offered)
      offered += count
      for (const a of answers) {
        latencies.push(...(a?.latenciesMs ?? []))
        failed += Object.values(a?.failures ?? {}).reduce((x, y) => x + y, 0)
      }
      await new Promise(resolve => setTimeout(resolve, 2_000))
      const reservations = await fetch(`http://127.0.0.1:${http}/status`).then(async r => (await r.json() as { relay: { reservations: number } }).relay.reservations, () => -1)
      const memory = await cgroupMemory(name)
      held = reservations
      progress(`container: ${offered} offered, ${reservations} reserved, ${failed} failed; cgroup memory ${(memory.usage / 1024 ** 2).toFixed(0)} MiB (peak ${(memory.peak / 1024 ** 2).toFixed(0)} MiB), OOM kills ${memory.oomKills}`)
      if (reservations < 0) break
    }
    const memory = await cgroupMemory(name).catch(() => ({ usage: Number.NaN, peak: Number.NaN, oomKills: Number.NaN }))
    const state = await podman(['inspect', '--format', '{{.State.Running}} {{.State.OOMKilled}}', name]).catch(() => 'gone gone')
    return {
      containerPeersOffered: offered,
      containerPeersHeld: held,
      containerJoinsFailed: failed,
      containerJoinP99Ms: quantile(latencies, 0.99),
      containerMemoryMiB: memory.usage / 1024 ** 2,
      containerPeakMemoryMiB: memory.peak / 1024 ** 2,
      containerMemoryLimitMiB: 1024,
      containerOomKills: memory.oomKills,
      containerStillRunning: state.startsWith('true') ? 1 : 0,
      containerOomKilled: state.endsWith('true') ? 1 : 0
    }
  } finally {
    for (const worker of workers) worker.child.kill('SIGKILL')
    await removeContainer(name)
  }
}

/** Image sizes, start time, and capacity in a 1 GiB container. Builds the images first (cached). */
export async function imageBench (context: BenchContext): Promise<BenchResult> {
  const plan = context.smoke ? SMOKE : FULL
  context.progress('building (or finding) the images')
  const images = parseExports(await runToolScript(BUILD_IMAGES_SCRIPT))
  const app = images.MEGANET_IMAGE_APP ?? 'localhost/meganet:dev'
  const sizes = {
    appImageMiB: await imageSize(app) / 1024 ** 2,
    baseImageMiB: await imageSize(images.MEGANET_IMAGE_BASE ?? 'docker.io/library/node:24-slim') / 1024 ** 2,
    natsImageMiB: await imageSize(images.MEGANET_IMAGE_NATS ?? '') / 1024 ** 2
  }
  context.progress(`image sizes: ${JSON.stringify(sizes)}`)
  const starts = await startTimes(app, plan.starts)
  const capacity = await containerCapacity(app, plan, context.progress)
  const metrics: Record<string, number> = {
    ...sizes,
    appLayersOverBaseMiB: sizes.appImageMiB - sizes.baseImageMiB,
    containerStartToHealthyMsP50: quantile(starts.container, 0.5),
    processStartToHealthyMsP50: quantile(starts.process, 0.5),
    containerToProcessStartRatio: quantile(starts.container, 0.5) / quantile(starts.process, 0.5),
    ...capacity
  }
  const goalMet = context.smoke ? undefined : capacity.containerPeersHeld >= GOAL_PEERS && capacity.containerOomKills === 0 && capacity.containerStillRunning === 1
  return {
    name: 'image',
    summary: `project image ${sizes.appImageMiB.toFixed(0)} MiB (${(sizes.appImageMiB - sizes.baseImageMiB).toFixed(0)} MiB over the ${sizes.baseImageMiB.toFixed(0)} MiB node:24-slim stand-in), ` +
      `nats ${sizes.natsImageMiB.toFixed(0)} MiB; podman run to /healthz p50 ${metrics.containerStartToHealthyMsP50?.toFixed(0)} ms vs ${metrics.processStartToHealthyMsP50?.toFixed(0)} ms for the same anchor as a plain process ` +
      `(${metrics.containerToProcessStartRatio?.toFixed(2)}x); in a ${MEMORY_LIMIT} container the anchor held ${capacity.containerPeersHeld} of ${capacity.containerPeersOffered} reserved peers ` +
      `at ${capacity.containerMemoryMiB?.toFixed(0)} MiB cgroup memory (peak ${capacity.containerPeakMemoryMiB?.toFixed(0)} MiB), ${capacity.containerOomKills} OOM kills` +
      (capacity.containerStillRunning === 1 ? '' : ', and the container was gone at the end'),
    metrics,
    ...(goalMet == null ? {} : { goalMet })
  }
}
