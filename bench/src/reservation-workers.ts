import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cpuSeconds, residentBytes } from './process-usage.js'
import type { AnchorChild } from '@meganet/node/testing'
import type { JoinAnswer, JoinCommand, RejoinedAnswer, RejoinedCommand } from './reservation-worker.js'
import type { ChildProcess } from 'node:child_process'
import type { Interface } from 'node:readline'

/** The built worker (src/ and dist/ both sit one level below the package root). */
const WORKER_PATH = fileURLToPath(new URL('../dist/reservation-worker.js', import.meta.url))

const GO_PEERS_GOGC = '400'

/** A `reservation-worker` process: its simulated peers hold reservations on one anchor. */
export interface ReservationWorker { readonly child: ChildProcess, readonly answers: Interface }

export interface ReservationWorkerInit {
  readonly relay: string
  /** Simulated peers per loopback source address. */
  readonly peersPerAddress: number
  /** Peers redial the anchor and reserve again when it drops them, as the peer library does. */
  readonly rejoin?: boolean
  /**
   * A nice value for the worker: in the world peers do not share the anchor's CPU, and on a
   * 2-core machine six busy workers would otherwise hold the anchor to 2/7 of the CPU.
   */
  readonly niceness?: number
  /**
   * The go-relay binary (test/tools/go-relay): the peers are go-libp2p ones (its `peers`
   * subcommand, rejoin mode only), with the library's redial policy, at a fraction of the CPU.
   */
  readonly goBinary?: string
}

export function startWorker (init: ReservationWorkerInit): ReservationWorker {
  if (init.goBinary != null && init.rejoin !== true) throw new Error('go-libp2p peers only rejoin: set rejoin')
  const [command, args] = init.goBinary != null
    ? [init.goBinary, ['peers', '--relay', init.relay, '--per-address', String(init.peersPerAddress)]]
    : [process.execPath, [WORKER_PATH, init.relay, String(init.peersPerAddress), ...(init.rejoin === true ? ['rejoin'] : [])]]
  // Through nice(1), which every thread inherits: setPriority(pid) would renice only the thread
  // whose id is the pid, not a Go runtime's other threads nor Node's garbage collector's.
  // The go peers trade memory (about 0.5 GB per 1,000 here) for CPU: at Go's default GOGC of 100
  // their collector stalled them for seconds at the start of a storm, while the anchor waited on
  // their handshakes with half a core idle.
  const env = init.goBinary != null ? { ...process.env, GOGC: process.env.GOGC ?? GO_PEERS_GOGC } : process.env
  const options = { stdio: ['pipe', 'pipe', 'inherit'] as Array<'pipe' | 'inherit'>, env }
  const child = init.niceness == null
    ? spawn(command, args, options)
    : spawn('nice', ['-n', String(init.niceness), command, ...args], options)
  return { child, answers: createInterface({ input: child.stdout as NodeJS.ReadableStream }) }
}

/** How long a worker may take to exit once its stdin closes (a profiled one writes its profile first). */
const WORKER_EXIT_MS = 30_000

/**
 * Ends the workers the way they expect, by closing their stdin, so each exits on its own and
 * one started with `--cpu-prof` (the benchmark's `--profile`) writes its profile; one still
 * running after {@link WORKER_EXIT_MS} is killed.
 */
export async function stopWorkers (workers: readonly ReservationWorker[]): Promise<void> {
  await Promise.all(workers.map(async ({ child }) => {
    if (child.exitCode != null || child.signalCode != null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
    // A worker that has just died makes the end an EPIPE: its exit is what is waited for.
    child.stdin?.on('error', () => {})
    child.stdin?.end()
    const timer = setTimeout(() => { child.kill('SIGKILL') }, WORKER_EXIT_MS)
    await exited
    clearTimeout(timer)
  }))
}

export async function ask (worker: ReservationWorker, command: JoinCommand): Promise<JoinAnswer>
export async function ask (worker: ReservationWorker, command: RejoinedCommand): Promise<RejoinedAnswer>
export async function ask (worker: ReservationWorker, command: JoinCommand | RejoinedCommand): Promise<JoinAnswer | RejoinedAnswer> {
  const answer = new Promise<JoinAnswer | RejoinedAnswer>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`reservation worker exited with ${code}`))
    // A worker that could not start (nice or the go binary missing) says why here, not as a crash.
    const onError = (err: Error): void => reject(new Error(`reservation worker could not run: ${err.message}`))
    worker.child.once('exit', onExit)
    worker.child.once('error', onError)
    worker.answers.once('line', line => {
      worker.child.off('exit', onExit)
      worker.child.off('error', onError)
      resolve(JSON.parse(line) as JoinAnswer | RejoinedAnswer)
    })
  })
  worker.child.stdin?.write(JSON.stringify(command) + '\n')
  return await answer
}

/** `count` more peers join, split evenly over the workers; `offset` numbers the first of them across all workers. */
export async function joinAcross (workers: readonly ReservationWorker[], count: number, offset: number): Promise<Array<JoinAnswer | undefined>> {
  return await Promise.all(workers.map(async (worker, w) => {
    const share = Math.floor(count / workers.length) + (w < count % workers.length ? 1 : 0)
    return share === 0 ? undefined : await ask(worker, { join: { count: share, offset: offset + w * Math.ceil(count / workers.length) } })
  }))
}

export interface AnchorSample {
  rssBytes: number
  heapBytes: number
  reservations: number
  cpuSeconds: number
  /** Connections it closed because they did not answer a keepalive ping in time. */
  closedUnanswered: number
}

/** The anchor's RSS and CPU (from /proc), heap (its metrics) and reservations held (its status). */
export async function sampleAnchor (anchor: AnchorChild): Promise<AnchorSample> {
  const pid = anchor.child.pid
  if (pid == null) throw new Error('the anchor has no pid')
  const status = await (await fetch(anchor.url('/status'))).json() as { relay: { reservations: number } }
  const metrics = await (await fetch(anchor.url('/metrics'))).text()
  const heap = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1]
  const unanswered = /^meganet_connections_closed_unanswered_total (\S+)$/m.exec(metrics)?.[1]
  return {
    rssBytes: await residentBytes(pid),
    heapBytes: Number(heap),
    reservations: status.relay.reservations,
    cpuSeconds: await cpuSeconds(pid),
    closedUnanswered: Number(unanswered)
  }
}

/** Inbound dials an anchor has seen since it started, from libp2p's upgrader counters. */
export interface InboundDials {
  /** Every inbound dial, refused at accept or upgraded. */
  readonly dials: number
  /**
   * Refused by the connection manager (`ConnectionDeniedError`): every handshake slot taken (at
   * accept, or when the upgrade began), or a per-host, per-network, rate or connection limit.
   */
  readonly denied: number
  /** Refused by the anchor's gater (`ConnectionInterceptedError`), e.g. while it starts. */
  readonly intercepted: number
  /** Any other failure: a handshake begun that timed out, was aborted or reset. */
  readonly failedHandshakes: number
  /** Became connections. */
  readonly upgraded: number
}

/** The value of each series of a counter group (`name{key="label"} value`), by label. */
function counterGroup (metrics: string, name: string): Map<string, number> {
  const values = new Map<string, number>()
  for (const match of metrics.matchAll(new RegExp(`^${name}\\{[^=]+="([^"]*)"\\} (\\S+)$`, 'gm'))) {
    values.set(match[1]!, Number(match[2]))
  }
  return values
}

export async function inboundDials (anchor: AnchorChild): Promise<InboundDials> {
  const response = await fetch(anchor.url('/metrics'))
  if (!response.ok) throw new Error(`the anchor's /metrics answered ${response.status}`)
  const metrics = await response.text()
  const dials = counterGroup(metrics, 'libp2p_connection_manager_dials_total').get('inbound') ?? 0
  const failed = counterGroup(metrics, 'libp2p_connection_manager_dial_errors_total').get('inbound') ?? 0
  const causes = counterGroup(metrics, 'libp2p_connection_manager_dials_inbound_errors_total')
  const denied = causes.get('ConnectionDeniedError') ?? 0
  const intercepted = causes.get('ConnectionInterceptedError') ?? 0
  return { dials, denied, intercepted, failedHandshakes: failed - denied - intercepted, upgraded: dials - failed }
}

export const mib = (bytes: number): number => bytes / 1024 ** 2
