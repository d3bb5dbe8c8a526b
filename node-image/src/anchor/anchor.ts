import { hostname } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { PROTOCOLS } from '@meganet/contracts'
import { signBootstrapList } from '../bootstrap/signed-list.js'
import { Coordinator } from '../coordination/coordinator.js'
import { LoadSampler } from '../coordination/load-sampler.js'
import { closeHttp, createHttpApp, listenHttp } from '../http/http-server.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import { AnchorMetrics } from '../metrics/anchor-metrics.js'
import { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import { AnchorMesh } from '../net/anchor-mesh.js'
import { RelayGuard } from '../relay/relay-guard.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { VERSION } from '../version.js'
import { AnchorDrain } from './anchor-drain.js'
import { ConnectionLiveness } from './connection-liveness.js'
import { createAnchorLibp2p } from './anchor-libp2p.js'
import { browserTransportStatus, openBrowserTransports } from './browser-transports.js'
import { TRANSPORT_NAMES, transportOf } from '../transports/transport-names.js'
import { BOOTSTRAP_LIST_TTL_MS, IDENTITY_FILE_NAME, PING_TIMEOUT_MS } from '../config/anchor-defaults.js'
import { LOOKUP_PROTOCOL, circuitAddresses, handleLookup } from './lookup-service.js'
import { memberPhase, routingTableSize } from './anchor-status.js'
import { StorageRole } from './storage-role.js'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { CoordinatedMember, CoordinationStatus } from '../coordination/coordinator.js'
import type { Readiness } from '../http/http-server.js'
import type { Logger } from '../logging/logger.js'
import type { AnchorLibp2p } from './anchor-libp2p.js'
import type { BrowserTransports } from './browser-transports.js'
import type { AnchorCommand, BootstrapEntry, MemberRecord, SignedBootstrapList } from '@meganet/contracts'
import type { AnchorPhase, AnchorStatus } from './anchor-status.js'
import type { StorageFleet } from '../storage/storage-fleet.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Server } from 'node:http'

const DISABLED_COORDINATION: CoordinationStatus = { state: 'disabled', servers: [], members: 0, heartbeatAgeSeconds: null, lastError: null }

/** One anchor: a libp2p node serving the DHT and relay, its HTTP endpoints, and its fleet link. */
export class Anchor {
  readonly config: AnchorConfig
  readonly node: AnchorLibp2p
  readonly metrics: AnchorMetrics
  private readonly coordinationMetrics: CoordinationMetrics
  private readonly key: PrivateKey
  private readonly guard: RelayGuard
  private readonly mesh: AnchorMesh
  private readonly liveness: ConnectionLiveness
  private readonly drainer: AnchorDrain
  private readonly coordinator?: Coordinator
  private readonly load: LoadSampler
  private storage?: StorageRole
  private lastMemberIds = ''
  private readonly log: Logger
  private readonly startedAt = Date.now()
  private phase: AnchorPhase = 'starting'
  /** Anchors the mesh keeps because they are fleet members (not static bootstrap entries). */
  private readonly memberTargets = new Set<string>()
  private http?: { server: Server, port: number }
  private readonly browserTransports: BrowserTransports

  private constructor (init: { config: AnchorConfig, node: AnchorLibp2p, key: PrivateKey, guard: RelayGuard, metrics: AnchorMetrics, registry: Registry, log: Logger, browserTransports: BrowserTransports }) {
    this.config = init.config
    this.browserTransports = init.browserTransports
    this.node = init.node
    this.key = init.key
    this.guard = init.guard
    this.metrics = init.metrics
    this.log = init.log
    this.coordinationMetrics = new CoordinationMetrics(init.registry)
    this.mesh = new AnchorMesh(init.node, init.config.bootstrap, init.log)
    this.liveness = new ConnectionLiveness(init.node, { intervalMs: init.config.connections.pingInterval, timeoutMs: PING_TIMEOUT_MS, log: init.log })
    this.drainer = new AnchorDrain({ node: init.node, guard: init.guard, log: init.log })
    this.drainer.addEventListener('progress', () => { this.onDrainProgress() })
    this.load = new LoadSampler({
      // Peers, not fellow anchors: the autoscaler divides this by the anchors it has.
      connectedPeers: () => new Set(this.node.getConnections().map(c => c.remotePeer.toString()).filter(id => !this.mesh.has(id))).size,
      reservations: () => this.guard.reservationCount(),
      relayedBytesTotal: async () => (await this.metrics.relayedBytes.get()).values[0]?.value ?? 0,
      storedBytes: () => this.storage?.store.usedBytes ?? 0
    }, init.config.dataDir)
    if (init.config.nats.servers.length > 0) {
      const { config } = init
      this.coordinator = new Coordinator({
        peerId: init.node.peerId.toString(),
        scope: { region: config.fleet.region, fleet: config.fleet.name },
        nats: config.nats,
        heartbeatMs: config.coordination.heartbeat,
        memberTtlMs: config.coordination.memberTtl,
        replicas: config.coordination.replicas,
        reservationTtlMs: config.relay.reservationTtl
      }, { member: this.coordinatedMember(), metrics: this.coordinationMetrics, log: init.log })
      this.coordinator.addEventListener('members', event => { this.onMembers(event.detail) })
    }
  }

  static async create (config: AnchorConfig, log: Logger): Promise<Anchor> {
    const identityFile = config.identityFile ?? join(config.dataDir, IDENTITY_FILE_NAME)
    const { key, created } = await loadOrCreateIdentity(identityFile, { create: config.identityFile == null })
    log.info({ identityFile, created }, created ? 'created a new identity' : 'loaded identity')
    const registry = new Registry()
    const metrics = new AnchorMetrics(registry, VERSION)
    metrics.setLimits({ maxReservations: config.relay.maxReservations, maxConnections: config.connections.max })
    const guard = new RelayGuard(config.relay, metrics)
    const browserTransports = await openBrowserTransports(config, log)
    const node = await createAnchorLibp2p({ config, privateKey: key, registry, guard, log, ...browserTransports })
    const anchor = new Anchor({ config, node, key, guard, metrics, registry, log: log.child({ peerId: node.peerId.toString() }), browserTransports })
    if (config.roles.includes('storage')) await anchor.openStorage(registry)
    return anchor
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  get httpPort (): number {
    return this.http?.port ?? 0
  }

  async start (): Promise<void> {
    await this.node.start()
    this.node.services.publicAddresses.announceInterfaceAddresses()
    const relay = this.node.services.relay
    if (relay != null) this.guard.attach({ relay, getConnections: peer => this.node.getConnections(peer) })
    this.guard.addEventListener('reserved', event => { this.recordInDirectory(event.detail) })
    this.guard.addEventListener('released', event => { void this.coordinator?.directory?.remove(event.detail.toString()).catch(() => {}) })
    this.node.addEventListener('peer:disconnect', event => { this.guard.onPeerDisconnect(event.detail) })
    await this.node.handle(LOOKUP_PROTOCOL, async (stream) => {
      await handleLookup({
        node: this.node,
        guard: this.guard,
        directory: () => this.coordinator?.directory,
        addresses: () => this.multiaddrs(),
        metrics: this.coordinationMetrics,
        log: this.log
      }, stream)
    })
    await this.storage?.start()
    this.metrics.bindGauges({
      peersByTransport: () => this.connectionsByTransport(),
      reservations: () => this.guard.reservationCount(),
      openCircuits: () => this.guard.openCircuits(),
      routingTableSize: () => routingTableSize(this.node.services.dht)
    })
    this.mesh.start()
    this.liveness.start()
    this.http = await listenHttp(createHttpApp({
      registry: this.metrics.registry,
      live: () => this.phase !== 'stopped',
      readiness: () => this.readiness(),
      status: async () => await this.status(),
      bootstrapList: async () => await this.bootstrapList()
    }, this.log), this.config.http.host, this.config.http.port)
    this.phase = 'serving'
    this.coordinator?.start()
    if (this.coordinator == null) this.log.info('no NATS servers configured: running without fleet coordination')
    this.log.info({ multiaddrs: this.multiaddrs(), httpPort: this.http.port, roles: this.config.roles }, 'anchor serving')
  }

  /**
   * Graceful stop: refuse new reservations and circuits, report not ready, leave the fleet,
   * give open relayed connections up to `shutdownGrace` to finish, then close everything.
   */
  async stop (): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return
    this.phase = 'stopping'
    this.guard.drain()
    this.mesh.stop()
    this.liveness.stop()
    this.drainer.stop()
    await this.storage?.stop()
    const deadline = Date.now() + this.config.shutdownGrace
    await this.coordinator?.stop()
    while (Date.now() < deadline && this.guard.openCircuits() > 0) {
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await Promise.race([
      this.node.stop(),
      new Promise(resolve => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())
    ])
    this.load.stop()
    this.browserTransports.stop()
    if (this.http != null) await closeHttp(this.http.server)
    this.phase = 'stopped'
    this.log.info('anchor stopped')
  }

  /** Stops admitting peers and moves the reserved ones to other serving anchors of the fleet. */
  drain (): void {
    if (this.phase !== 'serving') return
    this.phase = 'draining'
    const alternatives = (this.coordinator?.members() ?? [])
      .filter(m => m.peerId !== this.peerId && m.phase === 'serving')
      .flatMap(m => m.multiaddrs)
    const storage = this.storage
    storage?.setDraining(true)
    this.drainer.start(alternatives, this.config.coordination.drainTimeout, () => storage?.blocksLeft ?? 0)
  }

  undrain (): void {
    if (this.phase !== 'draining' && this.phase !== 'drained') return
    this.drainer.cancel()
    this.storage?.setDraining(false)
    this.phase = 'serving'
  }

  multiaddrs (): string[] {
    return this.node.getMultiaddrs().map(a => a.toString())
  }

  readiness (): Readiness {
    const coordination = this.coordinator?.status().state ?? 'disabled'
    if (this.phase !== 'serving') return { ready: false, reason: `anchor is ${this.phase}`, coordination }
    if (this.mesh.configuredCount > 0 && this.mesh.connectedCount() === 0) {
      return { ready: false, reason: `connected to none of the ${this.mesh.configuredCount} known anchors`, coordination }
    }
    return { ready: true, reason: 'serving', coordination }
  }

  async status (): Promise<AnchorStatus> {
    const byTransport = this.connectionsByTransport()
    return {
      peerId: this.peerId,
      version: VERSION,
      phase: this.phase,
      roles: this.config.roles,
      region: this.config.fleet.region,
      fleet: this.config.fleet.name,
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
      browser: browserTransportStatus(this.browserTransports, this.node.services.wssCertificate?.certificate),
      anchors: { configured: this.mesh.configuredCount, connected: this.mesh.connectedCount() },
      coordination: this.coordinator?.status() ?? DISABLED_COORDINATION,
      drain: this.drainer.state ?? null,
      storage: this.storage?.status() ?? null,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000)
    }
  }

  /** This anchor and the anchors it knows (DHT servers it is connected to), signed. */
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

  private coordinatedMember (): CoordinatedMember {
    return {
      memberRecord: async () => await this.memberRecord(),
      command: (command: AnchorCommand) => {
        if (command === 'drain') this.drain()
        else if (command === 'undrain') this.undrain()
        return Promise.resolve()
      }
    }
  }

  private async memberRecord (): Promise<MemberRecord> {
    const drain = this.drainer.state
    return {
      schema: 1,
      peerId: this.peerId,
      multiaddrs: this.multiaddrs(),
      roles: this.config.roles,
      region: this.config.fleet.region,
      fleet: this.config.fleet.name,
      pod: this.config.fleet.pod ?? process.env.POD_NAME ?? hostname(),
      phase: memberPhase(this.phase),
      version: VERSION,
      startedAt: this.startedAt,
      updatedAt: Date.now(),
      heartbeatMs: this.config.coordination.heartbeat,
      load: await this.load.sample(),
      ...(drain != null ? { drain: { startedAt: drain.startedAt, reservationsLeft: drain.reservationsLeft, blocksLeft: drain.blocksLeft } } : {})
    }
  }

  /** Fellow anchors come from the membership list, so the mesh forms without static lists. */
  private onMembers (members: readonly MemberRecord[]): void {
    const fellows = members.filter(m => m.peerId !== this.peerId && m.phase !== 'drained')
    const live = new Set(fellows.map(m => m.peerId))
    for (const peerId of this.memberTargets) {
      if (!live.has(peerId)) { this.mesh.forget(peerId); this.memberTargets.delete(peerId) }
    }
    for (const fellow of fellows) {
      if (this.mesh.has(fellow.peerId)) continue
      this.mesh.add(fellow.multiaddrs)
      this.memberTargets.add(fellow.peerId)
      void this.node.peerStore.merge(peerIdFromString(fellow.peerId), { multiaddrs: fellow.multiaddrs.map(a => multiaddr(a)) }).catch(() => {})
    }
    // Placement follows membership: a change in who stores (or in their phases) means repair.
    const memberIds = members.filter(m => m.roles.includes('storage')).map(m => `${m.peerId}:${m.phase}`).sort().join(',')
    if (memberIds !== this.lastMemberIds) {
      this.lastMemberIds = memberIds
      this.storage?.membershipChanged()
    }
  }

  private async openStorage (registry: Registry): Promise<void> {
    const storage = await StorageRole.open({ dataDir: this.config.dataDir, storage: this.config.storage },
      { node: this.node, fleet: this.storageFleet(), registry, log: this.log })
    storage.addEventListener('round', () => { if (this.phase === 'draining') this.onDrainProgress() })
    this.storage = storage
  }

  /** Storage membership as placement needs it, from the fleet's live records. */
  private storageFleet (): StorageFleet {
    const storing = (): MemberRecord[] => (this.coordinator?.members() ?? []).filter(m => m.roles.includes('storage') && m.peerId !== this.peerId)
    const selfStores = (): boolean => this.config.roles.includes('storage')
    return {
      self: this.peerId,
      placementAnchors: () => [
        ...storing().filter(m => m.phase === 'serving').map(m => m.peerId),
        ...(selfStores() && this.phase === 'serving' ? [this.peerId] : [])
      ],
      readableAnchors: () => [...storing().map(m => m.peerId), ...(selfStores() ? [this.peerId] : [])],
      isMember: peerId => (this.coordinator?.members() ?? []).some(m => m.peerId === peerId)
    }
  }

  private onDrainProgress (): void {
    if (this.phase === 'draining' && this.drainer.state?.done === true) this.phase = 'drained'
    void this.coordinator?.heartbeat()
  }

  private recordInDirectory (peer: PeerId): void {
    const directory = this.coordinator?.directory
    if (directory == null) return
    directory.record(peer.toString(), circuitAddresses(this.multiaddrs(), peer.toString()), this.config.relay.reservationTtl)
      .catch(err => { this.log.debug({ err: (err as Error).message }, 'could not record the peer in the directory') })
  }

  private connectionsByTransport (): Record<string, number> {
    const counts: Record<string, number> = Object.fromEntries(TRANSPORT_NAMES.map(name => [name, 0]))
    for (const connection of this.node.getConnections()) {
      const transport = transportOf(connection.remoteAddr.toString())
      counts[transport] = (counts[transport] ?? 0) + 1
    }
    return counts
  }
}
