import { join } from 'node:path'
import { Registry } from 'prom-client'
import { PROTOCOLS } from '@meganet/contracts'
import type { BootstrapEntry, SignedBootstrapList } from '@meganet/contracts'
import { signBootstrapList } from '../bootstrap/signed-list.js'
import { closeHttp, createHttpApp, listenHttp } from '../http/http-server.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import { AnchorMetrics } from '../metrics/anchor-metrics.js'
import { RelayGuard } from '../relay/relay-guard.js'
import { VERSION } from '../version.js'
import { AnchorMesh } from '../net/anchor-mesh.js'
import { createAnchorLibp2p } from './anchor-libp2p.js'
import { BOOTSTRAP_LIST_TTL_MS, IDENTITY_FILE_NAME } from './constants.js'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { Readiness } from '../http/http-server.js'
import type { Logger } from '../logging/logger.js'
import type { AnchorLibp2p } from './anchor-libp2p.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Server } from 'node:http'

export const ANCHOR_PHASES = ['starting', 'serving', 'draining', 'stopped'] as const
export type AnchorPhase = (typeof ANCHOR_PHASES)[number]

export interface AnchorStatus {
  readonly peerId: string
  readonly version: string
  readonly phase: AnchorPhase
  readonly roles: readonly string[]
  readonly multiaddrs: readonly string[]
  readonly httpPort: number
  readonly connections: { readonly total: number, readonly byTransport: Record<string, number> }
  readonly relay: {
    readonly reservations: number
    readonly circuits: number
    readonly relayedBytes: number
    readonly limits: AnchorConfig['relay']
  }
  readonly dht: { readonly routingTablePeers: number }
  readonly anchors: { readonly configured: number, readonly connected: number }
  readonly uptimeSeconds: number
}

function transportOf (address: string): string {
  if (address.includes('/p2p-circuit')) return 'circuit'
  if (address.includes('/ws')) return 'websocket'
  if (address.includes('/tcp/')) return 'tcp'
  return 'other'
}

function routingTableSize (dht: unknown): number {
  if (dht != null && typeof dht === 'object' && 'routingTable' in dht) {
    const table = dht.routingTable
    if (table != null && typeof table === 'object' && 'size' in table && typeof table.size === 'number') return table.size
  }
  return 0
}

/** One anchor: a libp2p node serving the DHT and relay, plus its HTTP endpoints. */
export class Anchor {
  readonly config: AnchorConfig
  readonly node: AnchorLibp2p
  readonly metrics: AnchorMetrics
  private readonly key: PrivateKey
  private readonly guard: RelayGuard
  private readonly mesh: AnchorMesh
  private readonly log: Logger
  private readonly startedAt = Date.now()
  private phase: AnchorPhase = 'starting'
  private http?: { server: Server, port: number }

  private constructor (init: { config: AnchorConfig, node: AnchorLibp2p, key: PrivateKey, guard: RelayGuard, metrics: AnchorMetrics, log: Logger }) {
    this.config = init.config
    this.node = init.node
    this.key = init.key
    this.guard = init.guard
    this.metrics = init.metrics
    this.log = init.log
    this.mesh = new AnchorMesh(init.node, init.config.bootstrap, init.log)
  }

  static async create (config: AnchorConfig, log: Logger): Promise<Anchor> {
    const identityFile = config.identityFile ?? join(config.dataDir, IDENTITY_FILE_NAME)
    const { key, created } = await loadOrCreateIdentity(identityFile, { create: config.identityFile == null })
    log.info({ identityFile, created }, created ? 'created a new identity' : 'loaded identity')
    const registry = new Registry()
    const metrics = new AnchorMetrics(registry, VERSION)
    const guard = new RelayGuard(config.relay, metrics)
    const node = await createAnchorLibp2p({ config, privateKey: key, registry, guard })
    return new Anchor({ config, node, key, guard, metrics, log: log.child({ peerId: node.peerId.toString() }) })
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  get httpPort (): number {
    return this.http?.port ?? 0
  }

  async start (): Promise<void> {
    await this.node.start()
    const relay = this.node.services.relay
    if (relay != null) this.guard.attach({ relay, getConnections: peer => this.node.getConnections(peer) })
    this.node.addEventListener('peer:disconnect', event => { this.guard.onPeerDisconnect(event.detail) })
    this.metrics.bindGauges({
      peersByTransport: () => this.connectionsByTransport(),
      reservations: () => this.guard.reservationCount(),
      openCircuits: () => this.guard.openCircuits(),
      routingTableSize: () => routingTableSize(this.node.services.dht)
    })
    this.mesh.start()
    this.http = await listenHttp(createHttpApp({
      registry: this.metrics.registry,
      live: () => this.phase !== 'stopped',
      readiness: () => this.readiness(),
      status: async () => await this.status(),
      bootstrapList: async () => await this.bootstrapList()
    }, this.log), this.config.http.host, this.config.http.port)
    this.phase = 'serving'
    this.log.info({ multiaddrs: this.multiaddrs(), httpPort: this.http.port, roles: this.config.roles }, 'anchor serving')
  }

  /**
   * Graceful stop: refuse new reservations and circuits, report not ready, give open
   * connections up to `shutdownGrace` to finish, then close everything.
   */
  async stop (): Promise<void> {
    if (this.phase === 'stopped') return
    this.phase = 'draining'
    this.guard.drain()
    this.mesh.stop()
    const deadline = Date.now() + this.config.shutdownGrace
    while (Date.now() < deadline && this.guard.openCircuits() > 0) {
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await Promise.race([
      this.node.stop(),
      new Promise(resolve => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())
    ])
    if (this.http != null) await closeHttp(this.http.server)
    this.phase = 'stopped'
    this.log.info('anchor stopped')
  }

  multiaddrs (): string[] {
    return this.node.getMultiaddrs().map(a => a.toString())
  }

  readiness (): Readiness {
    if (this.phase !== 'serving') return { ready: false, reason: `anchor is ${this.phase}` }
    if (this.mesh.configuredCount > 0 && this.mesh.connectedCount() === 0) {
      return { ready: false, reason: `connected to none of the ${this.mesh.configuredCount} configured anchors` }
    }
    return { ready: true, reason: 'serving' }
  }

  async status (): Promise<AnchorStatus> {
    const byTransport = this.connectionsByTransport()
    return {
      peerId: this.peerId,
      version: VERSION,
      phase: this.phase,
      roles: this.config.roles,
      multiaddrs: this.multiaddrs(),
      httpPort: this.httpPort,
      connections: { total: Object.values(byTransport).reduce((a, b) => a + b, 0), byTransport },
      relay: {
        reservations: this.guard.reservationCount(),
        circuits: this.guard.openCircuits(),
        relayedBytes: (await this.metrics.relayedBytes.get()).values[0]?.value ?? 0,
        limits: this.config.relay
      },
      dht: { routingTablePeers: routingTableSize(this.node.services.dht) },
      anchors: { configured: this.mesh.configuredCount, connected: this.mesh.connectedCount() },
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000)
    }
  }

  /** This anchor and the anchors it knows (DHT servers in its routing table), signed. */
  async bootstrapList (): Promise<SignedBootstrapList> {
    const entries: BootstrapEntry[] = [{ peerId: this.peerId, multiaddrs: this.multiaddrs() }]
    for (const connection of this.node.getConnections()) {
      const peer = connection.remotePeer
      if (entries.some(e => e.peerId === peer.toString())) continue
      const info = await this.node.peerStore.get(peer).catch(() => undefined)
      // DHT clients (apps) do not announce the DHT protocol; only anchors serve it.
      if (info == null || !info.protocols.includes(PROTOCOLS.dht)) continue
      const addresses = info.addresses.map(a => a.multiaddr).filter(a => !a.toString().includes('/p2p-circuit'))
        .map(a => `${a.toString()}/p2p/${peer.toString()}`)
      if (addresses.length > 0) entries.push({ peerId: peer.toString(), multiaddrs: addresses })
    }
    return await signBootstrapList(this.key, this.peerId, entries, BOOTSTRAP_LIST_TTL_MS)
  }

  private connectionsByTransport (): Record<string, number> {
    const counts: Record<string, number> = { tcp: 0, websocket: 0, circuit: 0 }
    for (const connection of this.node.getConnections()) {
      const transport = transportOf(connection.remoteAddr.toString())
      counts[transport] = (counts[transport] ?? 0) + 1
    }
    return counts
  }
}
