import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AnchorChild } from '../devnet/anchor-child.js'
import { NatsChild, findNatsServer } from '../devnet/nats-child.js'
import { freePort } from '../net/ports.js'

/** Coordination timings short enough for a benchmark: a beat every 500 ms, a record stale after 2 s. */
export const BENCH_FLEET_FLAGS = { 'coordination-heartbeat': '500ms', 'coordination-member-ttl': '2s' }

interface StatusView { coordination: { members: number }, anchors: { connected: number } }

/** A NATS server and anchors in one fleet, each in its own process, under one temporary directory. */
export class BenchFleet {
  readonly dir: string
  readonly nats: NatsChild
  readonly anchors: AnchorChild[]

  private constructor (dir: string, nats: NatsChild, anchors: AnchorChild[]) {
    this.dir = dir
    this.nats = nats
    this.anchors = anchors
  }

  static async start (size: number, flags: Readonly<Record<string, string>>): Promise<BenchFleet> {
    const binary = findNatsServer()
    if (binary == null) throw new Error('no nats-server: run test/tools/install-nats-server.sh or set MEGANET_NATS_SERVER')
    const dir = await mkdtemp(join(tmpdir(), 'meganet-bench-fleet-'))
    const nats = await NatsChild.spawn({ binary, port: await freePort(), storeDir: join(dir, 'nats') })
    const fleet = new BenchFleet(dir, nats, [])
    try {
      for (let i = 0; i < size; i++) {
        fleet.anchors.push(await AnchorChild.spawn({
          dataDir: join(dir, `anchor-${i}`),
          flags: { 'nats-servers': nats.url, 'fleet-name': 'bench', 'shutdown-grace': '1s', ...BENCH_FLEET_FLAGS, ...flags }
        }))
      }
      await fleet.waitForMembers(size)
    } catch (err) {
      await fleet.stop()
      throw err
    }
    return fleet
  }

  /** Waits until every running anchor counts `count` members and is connected to the others. */
  async waitForMembers (count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (const anchor of this.anchors.filter(a => a.running)) {
      for (;;) {
        const view = await fetch(anchor.url('/status')).then(async r => await r.json() as StatusView).catch(() => undefined)
        if (view != null && view.coordination.members === count && view.anchors.connected >= count - 1) break
        if (Date.now() > deadline) throw new Error(`anchor ${anchor.peerId} did not see ${count} fleet members in ${timeoutMs} ms`)
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    }
  }

  async stop (): Promise<void> {
    await Promise.all(this.anchors.map(async a => await a.stop('SIGKILL')))
    await this.nats.stop('SIGKILL')
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** The value at quantile `q` (0..1) of `values`, nearest rank. */
export function quantile (values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}
