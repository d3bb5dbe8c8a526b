import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { cidOf } from '@meganet/node/testing'
import { MeganetPeer } from '@meganet/node/peer'
import { ATTACKS } from './abuse-attacks.js'
import { BenchFleet } from './bench-fleet.js'
import { residentBytes } from './process-usage.js'
import type { AnchorRef, Attack, AttackTarget } from './abuse-attacks.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { AnchorChild } from '@meganet/node/testing'
import type { CID } from 'multiformats/cid'

/** The built attack runner (src/ and dist/ both sit one level below the package root). */
const WORKER_PATH = fileURLToPath(new URL('../dist/abuse-worker.js', import.meta.url))
const ANCHORS = 3
const FULL = { honestPeers: 4, phaseMs: 30_000 }
const SMOKE = { honestPeers: 2, phaseMs: 2_000 }
/** What a pod with the fleet's default memory limit holds. */
const GOAL_RSS_BYTES = 1024 ** 3
const BLOCK_BYTES = 64 * 1024
const RSS_SAMPLE_MS = 500
const OPS = ['reserve', 'message', 'put', 'get'] as const
type Op = (typeof OPS)[number]

interface PhaseResult {
  readonly name: string
  readonly ok: Record<Op, number>
  readonly failed: Record<Op, number>
  readonly maxRssBytes: number
  readonly attempts: number
  readonly errors: string[]
}

interface Honest {
  readonly peer: MeganetPeer
  readonly anchor: AnchorChild
}

async function honestPeer (anchor: AnchorChild): Promise<MeganetPeer> {
  const peer = await MeganetPeer.create({ anchors: [anchor.tcpAddress], allowPrivateAddresses: true, reservationTimeoutMs: 20_000 })
  await peer.start()
  return peer
}

/**
 * Honest work while an attack runs: every peer in turn sends a message to the next one by
 * PeerId, puts a block (every other one pinned) and gets a block another peer put; and a new
 * peer joins (reserves) at the start of the phase. Every operation must succeed.
 */
async function honestWork (honest: readonly Honest[], anchors: readonly AnchorChild[], until: number, result: PhaseResult): Promise<void> {
  const record = async (op: Op, run: () => Promise<unknown>): Promise<void> => {
    try {
      await run()
      result.ok[op]++
    } catch (err) {
      result.failed[op]++
      const inner = (err as Error & { errors?: Error[] }).errors?.map(e => e.message).join('; ')
      if (result.errors.length < 5) result.errors.push(`${op}: ${(err as Error).message.slice(0, 200)}${inner != null ? ` (${inner.slice(0, 300)})` : ''}`)
    }
  }
  const joiner = anchors[Math.floor(Math.random() * anchors.length)]
  const joining = joiner == null ? Promise.resolve() : record('reserve', async () => { const peer = await honestPeer(joiner); await peer.stop() })
  const stored: CID[] = []
  let round = 0
  do {
    for (const [i, { peer }] of honest.entries()) {
      const next = honest[(i + 1) % honest.length]
      if (next != null) await record('message', async () => { await peer.send(next.peer.peerId, new TextEncoder().encode(`round ${round}`)) })
      const block = randomBytes(BLOCK_BYTES)
      const cid = await cidOf(block, 'raw')
      await record('put', async () => { await peer.blocks().put(cid, block, { pin: round % 2 === 0 }); stored.push(cid) })
      const earlier = stored[Math.floor(Math.random() * stored.length)]
      const reader = honest[(i + 2) % honest.length]?.peer ?? peer
      if (earlier != null) await record('get', async () => { await reader.blocks().get(earlier) })
    }
    round++
  } while (Date.now() < until)
  await joining
}

async function maxRss (anchors: readonly AnchorChild[]): Promise<number> {
  let max = 0
  for (const anchor of anchors) {
    if (anchor.child.pid != null && anchor.running) max = Math.max(max, await residentBytes(anchor.child.pid).catch(() => 0))
  }
  return max
}

function anchorRef (anchor: AnchorChild): AnchorRef {
  const webrtcDirectAddress = anchor.multiaddrs.find(a => a.includes('/webrtc-direct/'))
  return { peerId: anchor.peerId, tcpAddress: anchor.tcpAddress, httpUrl: anchor.url(''), ...(webrtcDirectAddress != null ? { webrtcDirectAddress } : {}) }
}

/** Starts an attack in its own process; resolves once it attacks, with a function that stops it and says how many requests it made. */
async function startAttack (attack: Attack, target: AttackTarget): Promise<() => Promise<number>> {
  const child = spawn(process.execPath, [WORKER_PATH, attack.name, JSON.stringify(target)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const next = async (): Promise<string> => await new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => { reject(new Error(`attack ${attack.name} exited with ${code}`)) }
    child.once('exit', onExit)
    lines.once('line', line => { child.off('exit', onExit); resolve(line) })
  })
  if (await next() !== 'ready') throw new Error(`attack ${attack.name} did not start`)
  return async () => {
    const answer = next()
    child.kill('SIGTERM')
    try {
      return (JSON.parse(await answer) as { attempts: number }).attempts
    } catch {
      child.kill('SIGKILL')
      return 0
    }
  }
}

async function runPhase (attack: Attack | undefined, fleet: BenchFleet, honest: readonly Honest[], phaseMs: number): Promise<PhaseResult> {
  const zero = (): Record<Op, number> => ({ reserve: 0, message: 0, put: 0, get: 0 })
  const result: PhaseResult = { name: attack?.name ?? 'baseline', ok: zero(), failed: zero(), maxRssBytes: 0, attempts: 0, errors: [] }
  const stop = attack == null
    ? undefined
    : await startAttack(attack, {
      anchors: fleet.anchors.map(anchorRef),
      natsUrl: fleet.natsUrl,
      scope: { region: 'local', fleet: 'devnet' },
      victims: honest.map(h => ({ peerId: h.peer.peerId, anchor: anchorRef(h.anchor) }))
    })
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const rss = await maxRss(fleet.anchors)
      if (rss > result.maxRssBytes) (result as { maxRssBytes: number }).maxRssBytes = rss
      await new Promise(resolve => setTimeout(resolve, RSS_SAMPLE_MS))
    }
  })()
  try {
    await honestWork(honest, fleet.anchors, Date.now() + phaseMs, result)
  } finally {
    (result as { attempts: number }).attempts = await stop?.() ?? 0
    sampling = false
    await sampler
  }
  return result
}

function successShare (phase: PhaseResult): number {
  const ok = OPS.reduce((sum, op) => sum + phase.ok[op], 0)
  const total = ok + OPS.reduce((sum, op) => sum + phase.failed[op], 0)
  return total === 0 ? 1 : ok / total
}

/**
 * Abuse: each attack of issues 13 and 17 runs against a three-anchor fleet (NATS, storage R=3) while
 * honest peers reserve, message, put and get. Reports the honest operations' success (goal
 * 100%) and the anchors' largest RSS (goal: inside a 1 GiB pod), per attack and overall.
 */
export async function abuse (context: BenchContext): Promise<BenchResult> {
  const plan = context.smoke ? SMOKE : FULL
  context.progress(`starting NATS and ${ANCHORS} anchors`)
  const fleet = await BenchFleet.start(ANCHORS, { 'storage-repair-interval': '1s', 'storage-replication': '3', 'storage-write-quorum': '2' })
  const honest: Honest[] = []
  const phases: PhaseResult[] = []
  try {
    for (let i = 0; i < plan.honestPeers; i++) {
      const anchor = fleet.anchors[i % fleet.anchors.length] as AnchorChild
      honest.push({ peer: await honestPeer(anchor), anchor })
    }
    // MEGANET_ABUSE_ATTACKS=name,name runs only those (to look at one closely).
    const only = process.env.MEGANET_ABUSE_ATTACKS?.split(',').map(n => n.trim()).filter(n => n !== '')
    for (const attack of [undefined, ...ATTACKS.filter(a => only == null || only.includes(a.name))]) {
      context.progress(`${attack?.name ?? 'baseline'}: ${attack?.finding ?? 'no attack'}, honest peers at work for ${plan.phaseMs / 1000} s`)
      const phase = await runPhase(attack, fleet, honest, plan.phaseMs)
      phases.push(phase)
      const ops = OPS.map(op => `${op} ${phase.ok[op]}/${phase.ok[op] + phase.failed[op]}`).join(', ')
      context.progress(`${phase.name}: ${ops}; anchor RSS max ${(phase.maxRssBytes / 1048576).toFixed(0)} MiB${phase.errors.length > 0 ? `; failures: ${phase.errors.join(' | ')}` : ''}`)
    }
  } finally {
    await Promise.all(honest.map(async h => await h.peer.stop().catch(() => {})))
    await fleet.stop()
  }
  const worst = phases.reduce((a, b) => successShare(b) < successShare(a) ? b : a)
  const maxRssBytes = Math.max(...phases.map(p => p.maxRssBytes))
  const totalOps = phases.reduce((sum, p) => sum + OPS.reduce((s, op) => s + p.ok[op] + p.failed[op], 0), 0)
  const okOps = phases.reduce((sum, p) => sum + OPS.reduce((s, op) => s + p.ok[op], 0), 0)
  const metrics: Record<string, number> = {
    honest_success_percent: 100 * okOps / totalOps,
    honest_operations: totalOps,
    anchor_rss_max_mib: maxRssBytes / 1048576
  }
  for (const phase of phases) {
    metrics[`${phase.name}_honest_success_percent`] = 100 * successShare(phase)
    metrics[`${phase.name}_honest_operations`] = OPS.reduce((s, op) => s + phase.ok[op] + phase.failed[op], 0)
    metrics[`${phase.name}_anchor_rss_max_mib`] = phase.maxRssBytes / 1048576
    if (phase.attempts > 0) metrics[`${phase.name}_attack_requests`] = phase.attempts
  }
  const goalMet = okOps === totalOps && maxRssBytes < GOAL_RSS_BYTES
  return {
    name: 'abuse',
    summary: `honest success ${(100 * okOps / totalOps).toFixed(1)}% of ${totalOps} operations across ${phases.length - 1} attacks and a baseline ` +
      `(lowest: ${(100 * successShare(worst)).toFixed(1)}% under ${worst.name}); anchor RSS at most ${(maxRssBytes / 1048576).toFixed(0)} MiB (goal: under 1024 MiB)`,
    metrics,
    goalMet
  }
}
