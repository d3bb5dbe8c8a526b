import { hostname } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { BootstrapListCache } from '../bootstrap/list-cache.js'
import { Coordinator } from '../coordination/coordinator.js'
import { checkNatsCredentials } from '../coordination/nats-options.js'
import { LoadSampler } from '../coordination/load-sampler.js'
import { closeHttp, createHttpApp, listenHttp } from '../http/http-server.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import { AnchorMetrics } from '../metrics/anchor-metrics.js'
import { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import { AnchorMesh } from '../net/anchor-mesh.js'
import { IDENTIFY_INBOUND_AFTER_MS, InboundIdentify } from './inbound-identify.js'
import { RelayGuard } from '../relay/relay-guard.js'
import { DhtGuard } from '../dht/dht-guard.js'
import { peerRecordDhtRules, peerRecordExpired, peerRecordKey, peerRecordReplaces } from '../dht/peer-records.js'
import { SharedRecordLookups, findPeerRecord } from '../dht/record-lookup.js'
import { RecordPublisher } from '../dht/record-publisher.js'
import { PeeredFleets } from '../federation/peered-fleets.js'
import { DhtMetrics } from '../metrics/dht-metrics.js'
import { InflightMetrics } from '../metrics/inflight-metrics.js'
import { MAX_PEERED_FLEETS, MAX_PEERING_ERROR_LENGTH, MAX_PEERING_URL_LENGTH, MAX_PEER_MESSAGE_BYTES, PROTOCOLS, TRANSPORT_NAMES, transportOf } from '@meganet/contracts'
import { ByteBudget } from '../net/byte-budget.js'
import { networkOf } from '../net/ip-prefix.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdOf } from '../net/peer-id-of.js'
import { VERSION } from '../version.js'
import { AnchorDrain } from './anchor-drain.js'
import { ConnectionLiveness } from '../net/connection-liveness.js'
import { createAnchorLibp2p } from './anchor-libp2p.js'
import { browserTransportStatus, openBrowserTransports } from './browser-transports.js'
import {
  BOOTSTRAP_LIST_REFRESH_MS, BOOTSTRAP_LIST_TTL_MS, IDENTITY_FILE_NAME, PEER_RECORD_LOOKUP_TIMEOUT_MS, PEER_RECORD_PUT_CONCURRENCY,
  PEER_RECORD_PUT_TIMEOUT_MS, PEER_RECORD_REFRESH_MS, PEERED_ANCHORS_PER_FLEET, PEERING_RETRY_MS, PING_TIMEOUT_MS
} from '../config/anchor-defaults.js'
import { LOOKUP_PROTOCOL, circuitAddresses, handleLookup } from './lookup-service.js'
import { memberPhase, routingTableSize } from './anchor-status.js'
import { StorageRole } from './storage-role.js'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { CoordinatedMember, CoordinationStatus } from '../coordination/coordinator.js'
import type { Readiness } from '../http/http-server.js'
import type { Logger } from '../logging/logger.js'
import type { AnchorLibp2p } from './anchor-libp2p.js'
import type { BrowserTransports } from './browser-transports.js'
import type { AnchorCommand, BootstrapEntry, MemberRecord } from '@meganet/contracts'
import type { AnchorPhase, AnchorStatus } from './anchor-status.js'
import type { StorageFleet } from '../storage/storage-fleet.js'
import type { VerifiedPeerRecord } from '../dht/peer-records.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Server } from 'node:http'

/** Stale peer records are removed from the DHT's store this often (and whenever it is full). */
const DHT_SWEEP_INTERVAL_MS = 10 * 60 * 1000

/** Bytes lookups in flight may hold (512 at the largest request size). */
const MAX_LOOKUP_INFLIGHT_BYTES = 512 * MAX_PEER_MESSAGE_BYTES

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
  private readonly inboundIdentify: InboundIdentify
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
  /** The signed list with the peered fleets, and without them (what peered fleets embed). */
  private readonly bootstrapLists: BootstrapListCache
  private readonly ownBootstrapList: BootstrapListCache
  private http?: { server: Server, port: number }
  private readonly browserTransports: BrowserTransports

  private readonly inflight: InflightMetrics
  private readonly dhtGuard: DhtGuard
  private readonly dhtMetrics: DhtMetrics
  private readonly recordPublisher: RecordPublisher
  private dhtSweep?: ReturnType<typeof setInterval>
  private readonly recordLookups = new SharedRecordLookups(async peerId => await this.findRecord(peerId))
  /** Other operators' fleets this anchor peers with. */
  readonly peered: PeeredFleets
  /** Lookups in flight, each counted at its largest request; one network may take a quarter. */
  private readonly lookupBudget = new ByteBudget({ limit: MAX_LOOKUP_INFLIGHT_BYTES, holderShare: 0.25 })

  private constructor (init: {
    config: AnchorConfig, node: AnchorLibp2p, key: PrivateKey, guard: RelayGuard, metrics: AnchorMetrics, inflight: InflightMetrics, registry: Registry,
    log: Logger, browserTransports: BrowserTransports, dhtGuard: DhtGuard, dhtMetrics: DhtMetrics
  }) {
    this.config = init.config
    this.dhtGuard = init.dhtGuard
    this.dhtMetrics = init.dhtMetrics
    this.browserTransports = init.browserTransports
    this.node = init.node
    this.key = init.key
    this.guard = init.guard
    this.metrics = init.metrics
    this.inflight = init.inflight
    this.inflight.track('lookup', this.lookupBudget)
    this.log = init.log
    this.coordinationMetrics = new CoordinationMetrics(init.registry)
    this.peered = new PeeredFleets(
      { targets: init.config.peering, anchorsPerFleet: PEERED_ANCHORS_PER_FLEET, refreshMs: init.config.peeringRefresh, retryMs: PEERING_RETRY_MS, allowPrivateAddresses: init.config.dht.allowPrivateAddresses },
      { node: init.node, log: init.log })
    this.bootstrapLists = new BootstrapListCache({ key: init.key, issuer: init.node.peerId.toString(), ttlMs: BOOTSTRAP_LIST_TTL_MS, refreshMs: BOOTSTRAP_LIST_REFRESH_MS },
      () => this.bootstrapEntries(), () => this.peered.signedLists())
    this.ownBootstrapList = new BootstrapListCache({ key: init.key, issuer: init.node.peerId.toString(), ttlMs: BOOTSTRAP_LIST_TTL_MS, refreshMs: BOOTSTRAP_LIST_REFRESH_MS },
      () => this.bootstrapEntries())
    this.mesh = new AnchorMesh(init.node, init.config.bootstrap, init.log)
    this.liveness = new ConnectionLiveness(init.node, { intervalMs: init.config.connections.pingInterval, timeoutMs: PING_TIMEOUT_MS, log: init.log, onUnanswered: () => { init.metrics.connectionsUnanswered.inc() } })
    this.inboundIdentify = new InboundIdentify(init.node, {
      delayMs: IDENTIFY_INBOUND_AFTER_MS,
      isKnownAnchor: peer => this.isKnownAnchor(peer),
      isReserved: peer => init.guard.isReserved(peer)
    })
    this.drainer = new AnchorDrain({ node: init.node, guard: init.guard, log: init.log })
    this.recordPublisher = new RecordPublisher(
      { refreshMs: PEER_RECORD_REFRESH_MS, concurrency: PEER_RECORD_PUT_CONCURRENCY, timeoutMs: PEER_RECORD_PUT_TIMEOUT_MS },
      {
        node: init.node,
        isReserved: peer => init.guard.isReserved(peer),
        onPublished: result => { init.dhtMetrics.peerRecordsPublished.inc({ result }) },
        log: init.log
      })
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
        reservationTtlMs: config.relay.reservationTtl,
        operatorKeys: config.coordination.operatorKeys
      }, { member: this.coordinatedMember(), key: init.key, seed: init.key.raw.subarray(0, 32), metrics: this.coordinationMetrics, log: init.log })
      this.coordinator.addEventListener('members', event => { this.onMembers(event.detail) })
    }
  }

  /**
   * `announcedUdpPorts`: announced UDP port → this anchor's own port where a NodePort Service
   * maps one to the other (the operator's announce file), so announced WebRTC-direct addresses
   * get the certhash of the listener they lead to.
   */
  static async create (config: AnchorConfig, log: Logger, options: { readonly announcedUdpPorts?: ReadonlyMap<number, number> } = {}): Promise<Anchor> {
    // A missing or broken credentials file is a configuration error: stop now, not retry forever.
    if (config.nats.servers.length > 0) await checkNatsCredentials(config.nats)
    const identityFile = config.identityFile ?? join(config.dataDir, IDENTITY_FILE_NAME)
    const { key, created } = await loadOrCreateIdentity(identityFile, { create: config.identityFile == null })
    log.info({ identityFile, created }, created ? 'created a new identity' : 'loaded identity')
    const registry = new Registry()
    const metrics = new AnchorMetrics(registry, VERSION)
    metrics.setLimits({ maxReservations: config.relay.maxReservations, maxConnections: config.connections.max })
    const guard = new RelayGuard(config.relay, metrics)
    const inflight = new InflightMetrics(registry)
    const dhtMetrics = new DhtMetrics(registry, config.dht)
    // Fellow anchors, peered fleets' anchors (and this one) store DHT records without a per-peer limit; known once the anchor exists.
    let dhtUnlimited: (peer: string) => boolean = () => false
    const dhtGuard = new DhtGuard({
      protocol: PROTOCOLS.dht,
      maxRecords: config.dht.maxRecords,
      maxRecordsPerPeer: config.dht.maxRecordsPerPeer,
      unlimited: peer => dhtUnlimited(peer),
      onRefused: kind => { dhtMetrics.onRefused(kind) },
      replaces: peerRecordReplaces,
      expired: peerRecordExpired,
      onOutdated: () => { dhtMetrics.peerRecordsRejected.inc({ reason: 'older' }) },
      onStreamRefused: reason => { dhtMetrics.streamsRefused.inc({ reason }); if (reason === 'budget') inflight.refused.inc({ protocol: 'dht' }) }
    })
    dhtMetrics.bindStore(dhtGuard.store)
    inflight.track('dht', dhtGuard.budget)
    const browserTransports = await openBrowserTransports(config, log, options.announcedUdpPorts)
    const dhtRules = peerRecordDhtRules(reason => { dhtMetrics.peerRecordsRejected.inc({ reason }) })
    // Known once the anchor exists, like dhtUnlimited.
    let admitting: () => boolean = () => false
    const node = await createAnchorLibp2p({ config, privateKey: key, registry, guard, dhtGuard, dhtRules, log, admitting: () => admitting(), ...browserTransports })
    const anchor = new Anchor({ config, node, key, guard, metrics, inflight, registry, log: log.child({ peerId: node.peerId.toString() }), browserTransports, dhtGuard, dhtMetrics })
    dhtUnlimited = peer => anchor.isKnownAnchor(peer)
    admitting = () => anchor.phase !== 'starting'
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
    this.inboundIdentify.start()
    await this.node.start()
    this.node.services.publicAddresses.announceInterfaceAddresses()
    const relay = this.node.services.relay
    if (relay != null) this.guard.attach({ relay, getConnections: peer => this.node.getConnections(peer) })
    this.guard.addEventListener('reserved', event => { this.recordInDirectory(event.detail); this.recordPublisher.reserved(event.detail) })
    this.guard.addEventListener('released', event => {
      this.recordPublisher.released(event.detail)
      void this.coordinator?.directory?.remove(event.detail.toString()).catch(() => {})
    })
    this.recordPublisher.start()
    this.dhtSweep = setInterval(() => { this.dhtGuard.store.sweep() }, DHT_SWEEP_INTERVAL_MS)
    this.dhtSweep.unref()
    this.node.addEventListener('peer:disconnect', event => { this.guard.onPeerDisconnect(event.detail) })
    await this.node.handle(LOOKUP_PROTOCOL, async (stream, connection) => {
      const release = this.lookupBudget.tryAcquire(MAX_PEER_MESSAGE_BYTES, this.isFleetAnchor(connection.remotePeer.toString()) ? undefined : networkOf(connection.remoteAddr))
      if (release == null) {
        this.inflight.refused.inc({ protocol: 'lookup' })
        stream.abort(new Error('too many lookups in flight'))
        return
      }
      try {
        await handleLookup({
          node: this.node,
          guard: this.guard,
          directory: () => this.coordinator?.directory,
          addresses: () => this.multiaddrs(),
          fellows: () => (this.coordinator?.members() ?? []).filter(m => m.peerId !== this.peerId && m.phase !== 'drained').map(m => m.peerId),
          record: async peerId => await this.recordLookups.lookup(peerId),
          metrics: this.coordinationMetrics,
          log: this.log
        }, stream)
      } finally {
        release()
      }
    })
    await this.storage?.start()
    this.metrics.bindGauges({
      peersByTransport: () => this.connectionsByTransport(),
      reservations: () => this.guard.reservationCount(),
      openCircuits: () => this.guard.openCircuits(),
      routingTableSize: () => routingTableSize(this.node.services.dht),
      peering: () => this.peered.status()
    })
    this.mesh.start()
    this.peered.start()
    this.liveness.start()
    this.http = await listenHttp(createHttpApp({
      registry: this.metrics.registry,
      live: () => this.phase !== 'stopped',
      readiness: () => this.readiness(),
      status: async () => await this.status(),
      bootstrapList: async ({ peered }) => await (peered ? this.bootstrapLists : this.ownBootstrapList).json()
    }, this.log), this.config.http.host, this.config.http.port, this.log)
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
    this.guard.stop()
    this.recordPublisher.stop()
    clearInterval(this.dhtSweep)
    this.mesh.stop()
    this.peered.stop()
    this.liveness.stop()
    this.inboundIdentify.stop()
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

  /** This anchor, a configured one, or a live member of its fleet (by its signed record). */
  isFleetAnchor (peerId: string): boolean {
    return peerId === this.peerId || this.mesh.has(peerId) || (this.coordinator?.members() ?? []).some(m => m.peerId === peerId)
  }

  /** A fleet anchor (see isFleetAnchor) or a peered fleet's. */
  isKnownAnchor (peerId: string): boolean {
    return this.isFleetAnchor(peerId) || this.peered.has(peerId)
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
      peering: this.peered.status(),
      coordination: this.coordinator?.status() ?? DISABLED_COORDINATION,
      drain: this.drainer.state ?? null,
      storage: this.storage?.status() ?? null,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000)
    }
  }

  /**
   * Who the signed bootstrap list names: this anchor, the anchors its operator configured
   * (`bootstrap`), and the serving members of its fleet, by their own signed records. Never a
   * peer merely because it speaks the DHT protocol: anyone can claim that.
   */
  private bootstrapEntries (): BootstrapEntry[] {
    const direct = (addresses: readonly string[]): string[] => addresses.filter(a => !a.includes('/p2p-circuit'))
    const entries = new Map<string, string[]>([[this.peerId, direct(this.multiaddrs())]])
    for (const address of this.config.bootstrap) {
      const peerId = peerIdOf(address)
      if (peerId != null && peerId !== this.peerId) entries.set(peerId, [...(entries.get(peerId) ?? []), address])
    }
    for (const member of this.coordinator?.members() ?? []) {
      if (member.peerId === this.peerId || member.phase !== 'serving') continue
      const addresses = direct(member.multiaddrs).filter(a => a.endsWith(`/p2p/${member.peerId}`))
      if (addresses.length > 0) entries.set(member.peerId, addresses)
    }
    return [...entries].map(([peerId, multiaddrs]) => ({ peerId, multiaddrs: [...new Set(multiaddrs)].sort() }))
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
    // For the operator's status.peering, within the record's bounds: a URL too long to report is left out, not cut.
    const peering = this.peered.status()
      .filter(p => p.bootstrapUrl.length <= MAX_PEERING_URL_LENGTH)
      .slice(0, MAX_PEERED_FLEETS)
      .map(p => ({ bootstrapUrl: p.bootstrapUrl, anchors: p.anchors, connected: p.connected, verifiedAt: p.verifiedAt, lastError: p.lastError?.slice(0, MAX_PEERING_ERROR_LENGTH) ?? null }))
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
      ...(drain != null ? { drain: { startedAt: drain.startedAt, reservationsLeft: drain.reservationsLeft, blocksLeft: drain.blocksLeft } } : {}),
      ...(peering.length > 0 ? { peering } : {})
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
      { node: this.node, fleet: this.storageFleet(), registry, inflight: this.inflight, log: this.log })
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

  /** A peer's signed record from the DHT directory: this anchor's copy, then the closest anchors'. */
  private async findRecord (peerId: string): Promise<VerifiedPeerRecord | undefined> {
    const local = this.dhtGuard.localValue(peerRecordKey(peerId))
    return await findPeerRecord(this.node.services.dht, peerId, {
      signal: AbortSignal.timeout(PEER_RECORD_LOOKUP_TIMEOUT_MS),
      ...(local != null ? { local } : {}),
      onRejected: reason => { this.dhtMetrics.peerRecordsRejected.inc({ reason }) }
    })
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
