import { Devnet, findNatsServer } from '@meganet/node/testing'
import type { AnchorChild } from '@meganet/node/testing'

/** Coordination timings short enough for a benchmark: a beat every 500 ms, a record stale after 2 s. */
export const BENCH_FLEET_FLAGS = { 'coordination-heartbeat': '500ms', 'coordination-member-ttl': '2s', 'shutdown-grace': '1s' }

interface StatusView { coordination: { members: number }, anchors: { connected: number } }

/** A devnet with NATS whose anchors have all seen each other: the fleet a benchmark measures. */
export class BenchFleet {
  private readonly devnet: Devnet

  private constructor (devnet: Devnet) {
    this.devnet = devnet
  }

  get anchors (): AnchorChild[] {
    return this.devnet.anchors
  }

  /** The fleet's NATS (a benchmark may play a client of it). */
  get natsUrl (): string {
    if (this.devnet.nats == null) throw new Error('the bench fleet runs without NATS')
    return this.devnet.nats.url
  }

  /** `env` is added to every anchor's environment (e.g. a pod's heap flags: `podHeapEnv`). */
  static async start (size: number, flags: Readonly<Record<string, string>>, env?: Readonly<Record<string, string>>): Promise<BenchFleet> {
    const natsServer = findNatsServer()
    if (natsServer == null) throw new Error('no nats-server: run test/tools/install-nats-server.sh or set MEGANET_NATS_SERVER')
    const fleet = new BenchFleet(await Devnet.start({ anchors: size, natsServer, anchorFlags: { ...BENCH_FLEET_FLAGS, ...flags }, ...(env != null ? { anchorEnv: env } : {}) }))
    try {
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
    await this.devnet.stop()
  }
}
