import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { IDENTITY_FILE_NAME } from '../config/anchor-defaults.js'
import { freePort } from '../net/ports.js'
import { AnchorChild } from './anchor-child.js'
import { NatsChild } from './nats-child.js'
import type { PeeringStatus } from '../federation/peered-fleets.js'

export interface FederationOptions {
  /** One name per operator: each gets its own nats-server and fleet. */
  readonly operators: readonly string[]
  readonly anchorsPerFleet: number
  readonly natsServer: string
  /** Extra flags for every anchor. */
  readonly anchorFlags?: Readonly<Record<string, string>>
  /** How often peered lists are fetched again (anchors join a fleet after its first fetch). @default 2s */
  readonly peeringRefresh?: string
}

/** One operator: its NATS, its fleet, and what other operators pin it by. */
export interface OperatorFleet {
  readonly name: string
  readonly nats: NatsChild
  readonly anchors: AnchorChild[]
  /** Its anchors' signed bootstrap lists. */
  readonly bootstrapUrls: readonly string[]
  /** Its anchors' PeerIds: the keys allowed to sign its lists. */
  readonly pins: readonly string[]
}

interface PlannedAnchor { dataDir: string, peerId: string, httpPort: number }

/**
 * Independent operators on one machine: each runs its own nats-server and fleet, and every fleet
 * peers with every other through `--peering` (signed lists, pinned PeerIds); nothing else links
 * them. Keys and HTTP ports are chosen before any anchor starts, so every fleet can name every
 * other in its peering from the start.
 */
export class Federation {
  readonly operators: OperatorFleet[]
  private readonly dataDir: string

  private constructor (operators: OperatorFleet[], dataDir: string) {
    this.operators = operators
    this.dataDir = dataDir
  }

  static async start (options: FederationOptions): Promise<Federation> {
    const dataDir = await mkdtemp(join(tmpdir(), 'meganet-federation-'))
    const plans = new Map<string, PlannedAnchor[]>()
    for (const name of options.operators) {
      const plan: PlannedAnchor[] = []
      for (let i = 0; i < options.anchorsPerFleet; i++) {
        const anchorDir = join(dataDir, name, `anchor-${i}`)
        await mkdir(anchorDir, { recursive: true })
        const key = await generateKeyPair('Ed25519')
        await writeFile(join(anchorDir, IDENTITY_FILE_NAME), privateKeyToProtobuf(key), { mode: 0o600 })
        plan.push({ dataDir: anchorDir, peerId: peerIdFromPrivateKey(key).toString(), httpPort: await freePort() })
      }
      plans.set(name, plan)
    }
    const url = (anchor: PlannedAnchor): string => `http://127.0.0.1:${anchor.httpPort}/bootstrap`
    const operators: OperatorFleet[] = []
    try {
      for (const [name, plan] of plans) {
        const nats = await NatsChild.spawn({ binary: options.natsServer, port: await freePort(), storeDir: join(dataDir, name, 'nats') })
        operators.push({ name, nats, anchors: [], bootstrapUrls: plan.map(url), pins: plan.map(a => a.peerId) })
      }
      await Promise.all(operators.map(async operator => {
        const peering = [...plans].filter(([name]) => name !== operator.name)
          .map(([, plan]) => `${url(plan[0] as PlannedAnchor)}#${plan.map(a => a.peerId).join('+')}`).join(',')
        for (const anchor of plans.get(operator.name) ?? []) {
          operator.anchors.push(await AnchorChild.spawn({
            dataDir: anchor.dataDir,
            flags: {
              'nats-servers': operator.nats.url,
              'fleet-name': operator.name,
              'http-port': String(anchor.httpPort),
              ...(peering.length > 0 ? { peering, 'peering-refresh': options.peeringRefresh ?? '2s' } : {}),
              ...options.anchorFlags
            }
          }))
        }
      }))
    } catch (err) {
      await new Federation(operators, dataDir).stop('SIGKILL')
      throw err
    }
    return new Federation(operators, dataDir)
  }

  get anchors (): AnchorChild[] {
    return this.operators.flatMap(o => o.anchors)
  }

  /** Resolves once every running anchor has verified every peered list, in full, and is connected into each fleet. */
  async waitPeered (timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const others = this.operators.length - 1
    for (const operator of this.operators) {
      for (const anchor of operator.anchors.filter(a => a.running)) {
        let last: PeeringStatus[] = []
        for (;;) {
          last = await fetch(anchor.url('/status')).then(async r => (await r.json() as { peering: PeeringStatus[] }).peering).catch(() => [])
          const sizes = this.operators.filter(o => o !== operator).map(o => o.anchors.length)
          if (last.length === others && last.every(p => p.verifiedAt != null && p.connected > 0 && sizes.includes(p.anchors))) break
          if (Date.now() > deadline) throw new Error(`anchor ${anchor.peerId} of ${operator.name} is not peered after ${timeoutMs} ms: ${JSON.stringify(last)}`)
          await new Promise(resolve => setTimeout(resolve, 200))
        }
      }
    }
  }

  /** The operator is gone at once: its anchors and its nats-server SIGKILLed. */
  async kill (name: string): Promise<void> {
    const operator = this.operators.find(o => o.name === name)
    if (operator == null) throw new Error(`no operator ${name}`)
    await Promise.all(operator.anchors.map(async a => await a.stop('SIGKILL')))
    await operator.nats.stop('SIGKILL')
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.anchors.map(async a => await a.stop(signal)))
    await Promise.all(this.operators.map(async o => await o.nats.stop(signal)))
    await rm(this.dataDir, { recursive: true, force: true })
  }
}
