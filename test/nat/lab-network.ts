import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { AnchorChild } from '../../node-image/src/devnet/anchor-child.js'
import { SNAPSHOT_TIME_HEADER } from '../../node-image/src/http/http-server.js'
import { freshAnswer } from '../helpers/fresh-snapshot.js'
import { NatLab } from './nat-lab.js'
import type { TimedAnswer } from '../helpers/fresh-snapshot.js'
import type { LabHost } from './nat-lab.js'
import type { NatKind } from './nat-kinds.js'
import type { LocateReply, ReachReport, ReceiverReport, StartReply, WorkerReply, WorkerRequest } from './worker-protocol.js'
import type { ChildProcess } from 'node:child_process'

const WORKER_PATH = fileURLToPath(new URL('./peer-worker.ts', import.meta.url))
export const ANCHOR_TCP_PORT = 4001
const ANCHOR_HTTP_PORT = 9464
const WORKER_START_TIMEOUT_MS = 60_000
/** Prints the anchor's /metrics and its snapshot time as one JSON line (a TimedAnswer). */
const TIMED_METRICS = `fetch('http://127.0.0.1:${ANCHOR_HTTP_PORT}/metrics').then(async r => process.stdout.write(JSON.stringify({
  body: await r.text(), at: Number(r.headers.get(${JSON.stringify(SNAPSHOT_TIME_HEADER)}))
})))`

/** An anchor process on a public lab host, started as operators would: no `--announce`. */
export interface LabAnchor {
  readonly host: LabHost
  readonly process: AnchorChild
  /** Its TCP address as a peer would be configured with it. */
  readonly address: string
}

/** A peer worker process on a lab host (see peer-worker.ts): one fresh peer per `start`. */
export class PeerWorker {
  readonly host: LabHost
  private readonly child: ChildProcess
  private readonly pending = new Map<number, { resolve: (reply: WorkerReply) => void, reject: (err: Error) => void }>()
  private readonly stderr: string[] = []
  private nextId = 1

  private constructor (host: LabHost, child: ChildProcess) {
    this.host = host
    this.child = child
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr.push(chunk.toString())
      if (this.stderr.length > (process.env.LAB_DEBUG != null ? 1e6 : 200)) this.stderr.shift()
    })
    child.once('exit', code => {
      for (const { reject } of this.pending.values()) reject(new Error(`peer worker on ${host.ns} exited (${code}): ${this.stderr.join('').slice(-2000)}`))
      this.pending.clear()
    })
  }

  static async start (lab: NatLab, host: LabHost): Promise<PeerWorker> {
    const child = lab.spawn(host, [process.execPath, '--no-warnings', WORKER_PATH], { env: { ...process.env, NODE_OPTIONS: '', DEBUG: process.env.LAB_DEBUG ?? '' } })
    const worker = new PeerWorker(host, child)
    const lines = createInterface({ input: child.stdout! })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`peer worker on ${host.ns} did not start: ${worker.stderr.join('')}`)) }, WORKER_START_TIMEOUT_MS)
      lines.on('line', line => {
        const message = JSON.parse(line) as { ready?: boolean, id?: number, ok?: boolean, reply?: WorkerReply, error?: string }
        if (message.ready === true) { clearTimeout(timer); resolve(); return }
        const waiter = message.id == null ? undefined : worker.pending.get(message.id)
        if (waiter == null) return
        worker.pending.delete(message.id as number)
        if (message.ok === true) waiter.resolve(message.reply ?? {})
        else waiter.reject(new Error(`${host.ns}: ${message.error ?? 'unknown error'}`))
      })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`peer worker on ${host.ns} exited (${code}): ${worker.stderr.join('')}`)) })
    })
    return worker
  }

  async request<T extends WorkerReply> (request: WorkerRequest): Promise<T> {
    const id = this.nextId++
    return await new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: reply => { resolve(reply as T) }, reject })
      this.child.stdin?.write(`${JSON.stringify({ ...request, id })}\n`)
    })
  }

  async startPeer (anchors: string[], options: Extract<WorkerRequest, { op: 'start' }>['options'] = {}): Promise<StartReply> {
    return await this.request<StartReply>({ op: 'start', anchors, options })
  }

  async reach (peerId: string, init: { waitDirectMs: number, messages: number, messageBytes: number }): Promise<ReachReport> {
    return await this.request<ReachReport>({ op: 'reach', peerId, ...init })
  }

  async locate (peerId: string): Promise<LocateReply> {
    return await this.request<LocateReply>({ op: 'locate', peerId })
  }

  async received (from: string): Promise<ReceiverReport> {
    return await this.request<ReceiverReport>({ op: 'received', from })
  }

  async stopPeer (): Promise<void> {
    await this.request({ op: 'stop' })
  }

  /** Log lines the worker wrote to stderr lately (for failure messages). */
  get log (): string {
    return this.stderr.join('')
  }
}

/**
 * A NAT lab with anchors running: `anchors` public hosts, each running `meganet anchor` on the
 * default ports and bootstrapped from the first, plus peer hosts added on demand.
 */
export class LabNetwork {
  readonly lab: NatLab
  readonly anchors: LabAnchor[] = []
  private readonly workers: PeerWorker[] = []
  private readonly dataDirs: string[] = []

  private constructor (lab: NatLab) {
    this.lab = lab
  }

  static async start (name: string, anchorCount: number, anchorFlags: Readonly<Record<string, string>> = {}): Promise<LabNetwork> {
    const network = new LabNetwork(await NatLab.create(name))
    try {
      for (let i = 0; i < anchorCount; i++) await network.addAnchor(anchorFlags)
    } catch (err) {
      await network.stop()
      throw err
    }
    return network
  }

  get anchorAddresses (): string[] {
    return this.anchors.map(a => a.address)
  }

  async addAnchor (flags: Readonly<Record<string, string>> = {}): Promise<LabAnchor> {
    const host = await this.lab.addPublicHost(`a${this.anchors.length + 1}`)
    const dataDir = await mkdtemp(join(tmpdir(), 'meganet-nat-anchor-'))
    this.dataDirs.push(dataDir)
    const child = await AnchorChild.spawn({
      dataDir,
      host: '0.0.0.0',
      launcher: ['ip', 'netns', 'exec', host.ns],
      bootstrap: this.anchors.slice(0, 1).map(a => a.address),
      // A shared machine under load can take well over the default 20 s to start a process.
      startTimeoutMs: 120_000,
      env: { DEBUG: process.env.LAB_ANCHOR_DEBUG ?? '' },
      flags: {
        'listen-tcp-port': String(ANCHOR_TCP_PORT),
        'listen-ws-port': String(ANCHOR_TCP_PORT + 1),
        'http-port': String(ANCHOR_HTTP_PORT),
        'dht-allow-private-addresses': 'false',
        'shutdown-grace': '1s',
        ...flags
      }
    })
    const anchor = { host, process: child, address: `/ip4/${host.address}/tcp/${ANCHOR_TCP_PORT}/p2p/${child.peerId}` }
    this.anchors.push(anchor)
    return anchor
  }

  async natWorker (name: string, kind: NatKind): Promise<PeerWorker> {
    return this.track(await PeerWorker.start(this.lab, await this.lab.addNatHost(name, kind)))
  }

  async publicWorker (name: string): Promise<PeerWorker> {
    return this.track(await PeerWorker.start(this.lab, await this.lab.addPublicHost(name)))
  }

  /**
   * One sample of an anchor's /metrics as of now. A scrape that fails or lacks the sample is retried, then
   * thrown: read as 0 it would silently skew the before/after differences the tests compare.
   */
  async anchorMetric (anchor: LabAnchor, sample: string): Promise<number> {
    let last = ''
    for (let attempt = 0; attempt < 3; attempt++) {
      const text = await freshAnswer(`anchor ${anchor.process.peerId}'s /metrics`, async () =>
        JSON.parse(await this.lab.exec(anchor.host.ns, [process.execPath, '-e', TIMED_METRICS])) as TimedAnswer
      ).catch((err: unknown) => { last = (err as Error).message; return '' })
      const line = text.split('\n').find(l => l.startsWith(`${sample} `))
      if (line != null) return Number(line.slice(sample.length + 1))
      if (text !== '') last = `no sample ${sample} in ${text.length} bytes of metrics`
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    throw new Error(`cannot read ${sample} from anchor ${anchor.process.peerId}: ${last}`)
  }

  async stop (): Promise<void> {
    await Promise.all(this.anchors.map(async a => await a.process.stop('SIGKILL').catch(() => null)))
    await this.lab.destroy()
    await Promise.all(this.dataDirs.map(async d => await rm(d, { recursive: true, force: true })))
  }

  private track (worker: PeerWorker): PeerWorker {
    this.workers.push(worker)
    return worker
  }
}
