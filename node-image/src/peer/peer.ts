import { anchorFailureReason } from './anchor-failure.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { knownFleets } from './known-fleets.js'
import type { BootstrapCache, FleetAnchors, KnownFleets } from './known-fleets.js'
import { AnchorMesh } from '../net/anchor-mesh.js'
import { peerIdOf } from '../net/peer-id-of.js'
import { FleetFallback } from './fleet-fallback.js'
import { RelayOffers } from './relay-offers.js'
import { PROTOCOLS, lookupReplySchema, moveNoticeSchema } from '@meganet/contracts'
import { jsonFrames } from '../net/json-frames.js'
import { getBlock, isStoreError, putBlock } from '../blocks/store-client.js'
import { placementOrder } from '../blocks/placement-order.js'
import { checksBlocks } from '../blocks/checked-get.js'
import { MESSAGE_PROTOCOL, MESSAGE_TIMEOUT_MS, readMessage, writeMessage } from './messaging.js'
import { createPeerLibp2p } from './peer-libp2p.js'
import { checkPeerRecord } from '../dht/peer-records.js'
import { findPeerRecord } from '../dht/record-lookup.js'
import { fromString as bytesFromString } from 'uint8arrays'
import type { PeerRecordRejection } from '@meganet/contracts'
import { PLATFORM, directUpgrade, watchNetwork } from './platform.js'
import { pathOf } from './connection-path.js'
import { SharedAttempts, tryDirect } from './go-direct.js'
import type { GoDirectOptions } from './go-direct.js'
import type { ConnectionPath } from './connection-path.js'
import type { AnchorMeshOptions } from '../net/anchor-mesh.js'
import type { PlatformName } from './platform-types.js'
import { PeerConnections } from './peer-connections.js'
import { usableAddresses } from './usable-addresses.js'
import { NewerRecords } from './newer-records.js'
import { ConnectionLiveness, PEER_LIVENESS } from '../net/connection-liveness.js'
import type { ReceivedMessage } from './messaging.js'
import type { PeerLibp2p } from './peer-libp2p.js'
import type { Logger } from '../logging/logger.js'
import type { Connection, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'

/** What went wrong, for apps that word it for people (see `userMessage`). */
export type PeerErrorCode = 'bootstrap' | 'bad-anchor-address' | 'no-anchors' | 'anchors-unreachable' | 'no-relay' | 'not-a-peer-id' | 'peer-offline' | 'storage'

export class PeerError extends Error {
  override readonly name = 'PeerError'
  readonly code: PeerErrorCode

  constructor (code: PeerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

export function isPeerError (err: unknown, code?: PeerErrorCode): err is PeerError {
  return err instanceof PeerError && (code == null || err.code === code)
}

/** A PeerId as text, or a `not-a-peer-id` PeerError: check arguments with it before joining. */
export function parsePeerIdText (text: string): PeerId {
  try {
    return peerIdFromString(text)
  } catch (err) {
    throw new PeerError('not-a-peer-id', `${JSON.stringify(text)} is not a PeerId`, { cause: err })
  }
}

export interface PeerOptions {
  /** Anchor multiaddrs, each ending in /p2p/<peerId>. */
  readonly anchors?: readonly string[]
  /** URL of an anchor's signed bootstrap list (`http://anchor:9464/bootstrap`). */
  readonly bootstrapUrl?: string
  /** PeerIds allowed to sign the bootstrap list; defaults to the PeerIds in `anchors`. */
  readonly trustedAnchors?: readonly string[]
  /**
   * Keeps the last verified bootstrap list: when its URL cannot be reached the peer starts from
   * the kept one, and the anchors of the fleets it names as peered are where the peer goes when
   * all of its own are gone. `fileBootstrapCache(path)` in Node, `storageBootstrapCache(localStorage)` in pages.
   */
  readonly bootstrapCache?: BootstrapCache
  readonly privateKey?: PrivateKey
  /**
   * Relay reservations to hold (on different anchors). Default 1. 0 for a peer that only reaches
   * out (send, ping, files): it holds no reservation, nobody can dial it, and `start()` returns
   * as soon as one anchor is connected.
   */
  readonly relays?: number
  readonly listenTcp?: boolean
  /** Keep loopback and private addresses (devnets, LANs). */
  readonly allowPrivateAddresses?: boolean
  /** Browsers: STUN/TURN servers (`stun:host:port`) for WebRTC between pages. None by default: no third party learns who talks to whom. */
  readonly iceServers?: readonly string[]
  /** How long `start()` waits for a relay reservation. Default 20 s. */
  readonly reservationTimeoutMs?: number
  /** How anchors that are gone are retried: exponential backoff with jitter, capped (default 0.5 s doubling to 30 s). */
  readonly reconnect?: AnchorMeshOptions
  readonly log?: Logger
}

export interface PingResult {
  readonly rttMs: number
  readonly path: ConnectionPath
}

/** How this peer is connected to another one now. */
export type PeerPath = ConnectionPath | 'none'

const DEFAULT_RESERVATION_TIMEOUT_MS = 20_000
/** How long a join waits for an anchor that said it does not relay to say otherwise (a push once its relay is up). */
const NO_RELAY_GRACE_MS = 3_000
const LOOKUP_TIMEOUT_MS = 5_000
/** How long a lookup keeps asking for a peer nobody knows yet (it may have joined a moment ago), and how often. */
const JUST_JOINED_GRACE_MS = 4_000
const LOOKUP_RETRY_MS = 250
/** How long a lookup waits for the anchors this peer is still connecting to. */
const MESH_WAIT_MS = 2_000
/** How long a peer asked to move waits to reach another anchor before it leaves the old one anyway. */
const MOVE_TIMEOUT_MS = 10_000

export type FoundVia = 'anchor' | 'directory' | 'dht'

/** Where blocks go: the anchors this peer is connected to (see {@link MeganetPeer.blocks}). */
export interface PeerBlocks {
  put: (cid: CID, bytes: Uint8Array, options: { pin: boolean }) => Promise<void>
  /** Checks every block against its CID before returning it. */
  get: (cid: CID) => Promise<Uint8Array>
}

/** Refusals that another anchor may not give: try the next one. */
const TRY_NEXT_ANCHOR = new Set(['unreachable', 'draining', 'quorum_failed', 'not_found', 'store_full', 'corrupt', 'protocol', 'internal'])
const RATE_LIMIT_RETRIES = 6

export interface FoundPeer {
  readonly multiaddrs: Multiaddr[]
  /** Where the answer came from: the anchor holding its reservation, the fleet directory, or the peer's signed record in the DHT. */
  readonly via: FoundVia
  /** The signed record's sequence number, when the answer is one (`via` 'dht'). */
  readonly seq?: bigint
}

/**
 * The relay circuit addresses in a peer's signed record, as `/…/p2p-circuit/p2p/<peer>`: the
 * addresses the directory gives too. A peer meets another through a relay and goes direct from
 * there (dcutr, WebRTC); the direct addresses a record also names may be private or long gone.
 */
function circuitAddressesOf (addresses: readonly Multiaddr[], peerId: string): Multiaddr[] {
  return addresses.flatMap(address => {
    const text = address.toString().replace(new RegExp(`/p2p/${peerId}$`), '')
    return text.endsWith('/p2p-circuit') ? [multiaddr(`${text}/p2p/${peerId}`)] : []
  })
}

/** A multiaddr that pins an anchor by key: parses, ends in /p2p/<peerId>, and is not itself a relay circuit. */
function isAnchorAddress (address: string): boolean {
  try {
    return peerIdOf(address) != null && !address.includes('/p2p-circuit')
  } catch {
    return false
  }
}

/** Resolves the anchors to join: given ones, plus a verified signed bootstrap list (and the peered fleets it names, to fall back on). */
async function resolveAnchors (options: PeerOptions): Promise<KnownFleets> {
  const anchors = [...(options.anchors ?? [])]
  let fallback: FleetAnchors[] = []
  if (options.bootstrapUrl != null) {
    const trusted = options.trustedAnchors ?? anchors.map(peerIdOf).filter((id): id is string => id != null)
    if (trusted.length === 0) throw new PeerError('bootstrap', 'a bootstrap list URL needs trusted anchor PeerIds to verify it against')
    let known: KnownFleets
    try {
      known = await knownFleets(options.bootstrapUrl, trusted, options.bootstrapCache)
    } catch (err) {
      throw new PeerError('bootstrap', (err as Error).message, { cause: err })
    }
    anchors.push(...known.anchors)
    fallback = known.fallback.map(fleet => fleet.map(addresses => addresses.filter(address => isAnchorAddress(address))).filter(addresses => addresses.length > 0))
  }
  if (anchors.length === 0) throw new PeerError('no-anchors', 'no anchors to join: give anchor multiaddrs or a bootstrap list URL')
  for (const anchor of anchors) {
    try {
      multiaddr(anchor)
    } catch (err) {
      throw new PeerError('bad-anchor-address', `${JSON.stringify(anchor)} is not a multiaddr`, { cause: err })
    }
    if (peerIdOf(anchor) == null) throw new PeerError('bad-anchor-address', `${anchor} does not end in /p2p/<peerId>`)
  }
  return { anchors: [...new Set(anchors)], fallback }
}

/**
 * A MegaNet peer as apps embed it: joins through anchors, holds a relay reservation (renewed
 * when an anchor restarts), is reachable at its circuit address, and finds other peers by
 * PeerId alone through the anchors' DHT.
 */
export class MeganetPeer {
  readonly node: PeerLibp2p
  private readonly mesh: AnchorMesh
  private readonly options: PeerOptions
  private readonly handlers = new Set<(message: ReceivedMessage) => void>()
  private unwatchNetwork = (): void => {}
  private readonly connections: PeerConnections
  private readonly relayOffers: RelayOffers
  private readonly recordRejections: Map<PeerRecordRejection, number>
  private readonly newerRecords: NewerRecords
  /** Tries at a direct connection under way, by PeerId. */
  private readonly goingDirect = new SharedAttempts<PeerPath>()

  /** Peered fleets' anchors, joined a few at a time once every anchor of this peer's own fleet is gone. */
  private readonly fallback: FleetFallback
  /** Pings every connection each 30 s and closes the dead; also what keeps NAT mappings open. */
  private readonly liveness: ConnectionLiveness

  private constructor (node: PeerLibp2p, mesh: AnchorMesh, options: PeerOptions, recordRejections: Map<PeerRecordRejection, number>, fallback: FleetAnchors[]) {
    this.node = node
    this.fallback = new FleetFallback({ fleets: fallback, relays: options.relays ?? 1 }, mesh, options.log)
    this.recordRejections = recordRejections
    this.mesh = mesh
    this.options = options
    this.connections = new PeerConnections(node)
    this.relayOffers = new RelayOffers(node)
    this.liveness = new ConnectionLiveness(node, { ...PEER_LIVENESS, log: options.log ?? pino({ level: 'silent' }) })
    this.newerRecords = new NewerRecords(async (peerId, signal) => {
      const record = await findPeerRecord(this.node.services.dht, peerId, { signal, quorum: Number.POSITIVE_INFINITY, onRejected: reason => { this.rejected(reason) } })
      return record == null ? undefined : { seq: record.seq, multiaddrs: this.recordAddresses(record.multiaddrs, peerId) }
    })
  }

  static async create (options: PeerOptions): Promise<MeganetPeer> {
    const { anchors, fallback } = await resolveAnchors(options)
    const log = options.log ?? pino({ level: 'silent' })
    // The node asks whether a peer is one of our anchors; the mesh that knows is made from the node.
    const anchorsOf: { mesh?: AnchorMesh } = {}
    const recordRejections = new Map<PeerRecordRejection, number>()
    const node = await createPeerLibp2p({
      privateKey: options.privateKey ?? await generateKeyPair('Ed25519'),
      relays: options.relays ?? 1,
      listenTcp: options.listenTcp ?? false,
      allowPrivateAddresses: options.allowPrivateAddresses ?? false,
      iceServers: options.iceServers ?? [],
      isAnchor: peer => anchorsOf.mesh?.has(peer.toString()) ?? false,
      holdDial: address => anchorsOf.mesh?.holdsBack(address) ?? false,
      onRecordRejected: reason => { recordRejections.set(reason, (recordRejections.get(reason) ?? 0) + 1) }
    })
    anchorsOf.mesh = new AnchorMesh(node, anchors, log, options.reconnect)
    return new MeganetPeer(node, anchorsOf.mesh, options, recordRejections, fallback)
  }

  /** Where this library runs: `node`, or `browser` (the build bundlers take for pages). */
  static get platform (): PlatformName {
    return PLATFORM
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  /** Starts, connects to the anchors and waits until a relay reservation makes it reachable. */
  async start (): Promise<void> {
    await this.node.handle(MESSAGE_PROTOCOL, async (stream, connection) => {
      const message = await readMessage(stream, connection)
      for (const handler of this.handlers) handler(message)
    }, { runOnLimitedConnection: true })
    await this.node.handle(PROTOCOLS.notice, async (stream, connection) => { await this.onNotice(stream, connection) })
    try {
      await this.node.start()
      this.liveness.start()
      this.mesh.start()
      this.unwatchNetwork = watchNetwork(() => { this.networkChanged() })
      this.fallback.start()
      const timeoutMs = this.options.reservationTimeoutMs ?? DEFAULT_RESERVATION_TIMEOUT_MS
      if (this.options.relays === 0) await this.waitForAnchor(timeoutMs)
      else await this.waitForRelayAddress(timeoutMs, { joining: true })
    } catch (err) {
      // A peer that failed to join must not live on: its node would keep dialling and take the
      // relay slot or connection its anchors just freed, and the caller has no handle to stop it.
      await this.stop().catch((stopErr: unknown) => {
        this.options.log?.warn({ err: (stopErr as Error).message }, 'stopping the peer that failed to start failed')
      })
      throw err
    }
  }

  /** Resolves once this peer is connected to at least one of its anchors. */
  private async waitForAnchor (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.mesh.connectedCount() === 0) {
      this.throwIfNoAnchorAnswers()
      if (Date.now() >= deadline) throw new PeerError('anchors-unreachable', `no anchor connected within ${timeoutMs} ms: are the anchors up?`)
      await new Promise(resolve => setTimeout(resolve, 25))
    }
  }

  /**
   * Joining fails at once, saying why for each anchor, when every anchor has refused twice
   * (a retry rides out an anchor that was restarting) rather than waiting out the timeout.
   */
  private throwIfNoAnchorAnswers (): void {
    const failures = this.mesh.failures(2)
    if (failures == null) return
    // Joining with every anchor of its own fleet gone (started from a kept list): try the peered fleets first.
    if (this.fallback.join()) return
    throw new PeerError('anchors-unreachable', failures.map(f => `${f.address}: ${anchorFailureReason(f.error)}`).join('; '))
  }

  async stop (): Promise<void> {
    this.liveness.stop()
    this.fallback.stop()
    this.unwatchNetwork()
    this.relayOffers.stop()
    this.mesh.stop()
    await this.node.stop()
  }

  /**
   * The network changed (back online, Wi-Fi to cellular): anchors that were unreachable are
   * dialled again at once instead of waiting out their backoff. Browsers call this on their
   * own (`online`, Network Information `change`); apps on other platforms call it when they know.
   */
  networkChanged (): void {
    this.mesh.retryNow()
  }

  /** How this peer is connected to `peerId` now: directly, through a relay, or not at all. */
  pathTo (peerId: string): PeerPath {
    const connections = this.node.getConnections(this.parsePeerId(peerId))
    if (connections.length === 0) return 'none'
    return connections.some(c => pathOf(c) === 'direct') ? 'direct' : 'relayed'
  }

  /**
   * Tries to turn a relayed connection to `peerId` into a direct one: in browsers a WebRTC
   * connection signalled over the relay, in Node dcutr (which runs by itself when listening on
   * TCP). Tries again after pauses (`options.triesAfterMs`, by default three tries within
   * ~7 s) while the connection stays relayed; a failed try leaves the relayed connection.
   * Resolves with the path afterwards, or when `options.signal` aborts. Calls for a peer already
   * being tried share that attempt (and the first call's pauses and timeout); it stops once every
   * caller has aborted.
   */
  async goDirect (peerId: string, options: GoDirectOptions = {}): Promise<PeerPath> {
    const id = this.parsePeerId(peerId)
    const key = id.toString()
    return await this.goingDirect.join(key, async signal => await tryDirect(() => this.pathTo(key), async trySignal => await directUpgrade(this.node, id, trySignal), { ...options, signal },
      err => { this.options.log?.debug({ peer: key, err: err.message }, 'could not go direct; staying relayed for now') }), options.signal, () => this.pathTo(key))
  }

  /** Addresses other peers can reach this one at (through its relays). */
  circuitAddresses (): string[] {
    return this.node.getMultiaddrs().map(a => a.toString()).filter(a => a.includes('/p2p-circuit'))
  }

  /**
   * Resolves once this peer has a circuit address, e.g. after re-reserving on a restarted anchor.
   * `joining` (start): fail at once, saying why, when every anchor refuses.
   */
  async waitForRelayAddress (timeoutMs: number, { joining = false } = {}): Promise<string[]> {
    const began = Date.now()
    const deadline = began + timeoutMs
    while (Date.now() < deadline) {
      const addresses = this.circuitAddresses()
      if (addresses.length > 0) return addresses
      if (joining && this.mesh.connectedCount() === 0) this.throwIfNoAnchorAnswers()
      // Not at once: an anchor that is still starting identifies before its relay is up.
      if (joining && Date.now() - began >= NO_RELAY_GRACE_MS) this.throwIfNoAnchorRelays()
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    this.throwIfNoAnchorRelays()
    throw new PeerError('anchors-unreachable', `no relay reservation within ${timeoutMs} ms: are the anchors up and running the relay role?`)
  }

  /** Every configured anchor is connected and said, identifying itself, that it does not relay. */
  private throwIfNoAnchorRelays (): void {
    const connected = this.mesh.connectedPeers()
    if (connected.length < this.mesh.configuredCount || !this.relayOffers.noneRelays(connected)) return
    throw new PeerError('no-relay', `${connected.join(', ')} ${connected.length === 1 ? 'does' : 'do'} not run the relay role`)
  }

  onMessage (handler: (message: ReceivedMessage) => void): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  /**
   * Finds a peer's addresses by PeerId: asks its anchors (peer directory) first, then walks the
   * DHT. An answer with no address this peer could dial counts as no answer.
   */
  async find (peerId: string, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<Multiaddr[]> {
    return (await this.locate(peerId, timeoutMs)).multiaddrs
  }

  /** Like {@link find}, and says where the answer came from. */
  async locate (peerId: string, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<FoundPeer> {
    const id = this.parsePeerId(peerId)
    const started = Date.now()
    // A peer that joined a moment ago is in the DHT directory once its anchor has put its record (about a second): ask again meanwhile.
    // Each anchor that misses walks the DHT: ask again at growing intervals, and walk it ourselves last.
    const graceEnds = started + Math.min(timeoutMs, JUST_JOINED_GRACE_MS)
    for (let retry = 0; ; retry++) {
      const last = Date.now() + LOOKUP_RETRY_MS * 2 ** retry >= graceEnds
      const found = await this.locateOnce(id.toString(), Math.max(1, started + timeoutMs - Date.now()), { walk: last })
      if (found != null) return found
      if (last) break
      await new Promise(resolve => setTimeout(resolve, LOOKUP_RETRY_MS * 2 ** retry))
    }
    throw new PeerError('peer-offline', `peer ${peerId} is not online (no anchor holds it and the DHT has no record): ask them to open their app, then try again`)
  }

  private async locateOnce (peerId: string, timeoutMs: number, { walk }: { walk: boolean }): Promise<FoundPeer | undefined> {
    const fromAnchors = await this.askAnchors(peerId)
    if (fromAnchors != null || !walk) return fromAnchors
    // Only the peer's own signed record, never addresses some DHT node claims for it: those could be anyone's.
    const record = await findPeerRecord(this.node.services.dht, peerId, {
      signal: AbortSignal.timeout(timeoutMs),
      onRejected: reason => { this.rejected(reason) }
    })
    if (record == null) return undefined
    const usable = this.recordAddresses(record.multiaddrs, peerId)
    if (usable.length === 0) throw new PeerError('peer-offline', `peer ${peerId} was found, but with no address this peer can dial (${record.multiaddrs.length} found): ask them to open their app, then try again`)
    return { multiaddrs: usable, via: 'dht', seq: record.seq }
  }


  /**
   * Signed peer records this peer threw out while looking peers up, by why (`bad-signature` and
   * `wrong-peer` are forgeries): a count an app can report.
   */
  rejectedRecords (): Partial<Record<PeerRecordRejection, number>> {
    return Object.fromEntries(this.recordRejections)
  }

  private rejected (reason: PeerRecordRejection): void {
    this.recordRejections.set(reason, (this.recordRejections.get(reason) ?? 0) + 1)
  }

  /** Sends one message to a peer known only by its PeerId; resolves once the peer acknowledged it. */
  async send (peerId: string, data: Uint8Array): Promise<void> {
    const signal = AbortSignal.timeout(MESSAGE_TIMEOUT_MS)
    const { stream } = await this.reach(peerId, signal, async id => await this.connections.openStream(id, MESSAGE_PROTOCOL, signal))
    await writeMessage(stream, data, signal)
  }

  /** Round-trip time to a peer, and whether the path is relayed or direct. */
  async ping (peerId: string): Promise<PingResult> {
    const signal = AbortSignal.timeout(MESSAGE_TIMEOUT_MS)
    const { rttMs, connection } = await this.reach(peerId, signal, async id => await this.connections.ping(id, signal))
    return { rttMs, path: pathOf(connection) }
  }

  /**
   * Block storage through this peer's anchors: each put or get goes to one anchor, the first in
   * the fleet's placement order for the block (a holder, when this peer is connected to one:
   * the fleet saves a hop), moving on to the next when an anchor is unreachable, draining or
   * cannot reach its quorum, and backing off when rate-limited. Every block fetched is checked
   * against its CID.
   */
  blocks (): PeerBlocks {
    const attempt = async <T>(what: string, cid: CID, run: (anchor: PeerId) => Promise<T>): Promise<T> => {
      const connected = this.anchorConnections().map(c => c.remotePeer)
      if (connected.length === 0) throw new PeerError('storage', `${what}: not connected to any anchor`)
      const anchors = await placementOrder(cid.toString(), [...new Map(connected.map(id => [id.toString(), id])).values()], id => id.toString())
      const failures: string[] = []
      for (const anchor of anchors) {
        for (let retry = 0; ; retry++) {
          try {
            return await run(anchor)
          } catch (err) {
            if (isStoreError(err, 'rate_limited') && retry < RATE_LIMIT_RETRIES) {
              await new Promise(resolve => setTimeout(resolve, 100 * 2 ** retry))
              continue
            }
            if (isStoreError(err) && TRY_NEXT_ANCHOR.has(err.code)) { failures.push(`${anchor.toString()}: ${err.message}`); break }
            throw err
          }
        }
      }
      throw new PeerError('storage', `${what} failed on every anchor: ${failures.join('; ')}`)
    }
    return {
      put: async (cid, bytes, { pin }) => { await attempt(`put ${cid.toString()}`, cid, async anchor => await putBlock(this.node, anchor, cid, bytes, pin)) },
      get: checksBlocks(async (cid: CID) => await attempt(`get ${cid.toString()}`, cid, async anchor => await getBlock(this.node, anchor, cid)))
    }
  }

  /** One lookup round over the anchors this peer is connected to; undefined when none knows. */
  private async askAnchors (peerId: string): Promise<FoundPeer | undefined> {
    // Right after start only the anchor holding our reservation may be connected; the others
    // (one of which may hold the target's reservation) are moments away.
    const deadline = Date.now() + MESH_WAIT_MS
    while (this.mesh.firstDialsPending() && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    for (const connection of this.anchorConnections()) {
      try {
        const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS)
        const stream = await connection.newStream(PROTOCOLS.lookup, { signal })
        const frames = jsonFrames(stream)
        await frames.write({ peerId }, signal)
        const reply = await frames.read(lookupReplySchema, signal)
        await stream.close({ signal })
        if (!reply.found) continue
        if (reply.source === 'record') {
          // The peer's own signed record: believed only if it verifies against the PeerId asked for.
          const checked = await checkPeerRecord(bytesFromString(reply.record, 'base64url'), peerId)
          if (!checked.ok) { this.rejected(checked.reason); continue }
          const multiaddrs = this.recordAddresses(checked.record.multiaddrs, peerId)
          if (multiaddrs.length > 0) return { multiaddrs, via: 'dht', seq: checked.record.seq }
          continue
        }
        // A peered fleet's anchor vouches for nothing unsigned.
        if (this.fallback.isFallbackAnchor(connection.remotePeer.toString())) continue
        // An anchor that knows the peer but has no address to give (no --announce) is no answer.
        const multiaddrs = usableAddresses(reply.multiaddrs.map(a => multiaddr(a)), this.allowPrivateAddresses)
        if (multiaddrs.length > 0) return { multiaddrs, via: reply.source === 'local' ? 'anchor' : 'directory' }
      } catch {
        // An anchor that cannot answer is skipped: the DHT walk remains.
      }
    }
    return undefined
  }

  /** What a lookup passes on from a peer's signed record: its relay circuit addresses this peer can dial. */
  private recordAddresses (addresses: readonly Multiaddr[], peerId: string): Multiaddr[] {
    return usableAddresses(circuitAddressesOf(addresses, peerId), this.allowPrivateAddresses)
  }

  private get allowPrivateAddresses (): boolean {
    return this.options.allowPrivateAddresses ?? false
  }

  private anchorConnections (): Connection[] {
    return this.node.getConnections().filter(c => c.limits == null && this.mesh.has(c.remotePeer.toString()))
  }

  /**
   * A draining anchor asks us to move: reach one of the anchors it names, then leave it. Only
   * this peer's own anchors (the ones it joined through, or was moved to by one of them) may
   * say so, over a direct connection: from anyone else a notice would lure the peer anywhere.
   */
  private async onNotice (stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    if (!this.mesh.has(from) || this.fallback.isFallbackAnchor(from) || connection.limits != null) {
      stream.abort(new Error(`move notice from ${from}, which is not one of this peer's anchors: ignored`))
      return
    }
    const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS)
    const notice = await jsonFrames(stream).read(moveNoticeSchema, signal)
    await stream.close({ signal }).catch(() => {})
    this.mesh.add(notice.anchors.filter(address => isAnchorAddress(address)))
    const deadline = Date.now() + MOVE_TIMEOUT_MS
    while (Date.now() < deadline && !this.anchorConnections().some(c => c.remotePeer.toString() !== from)) {
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    this.mesh.forget(from)
    await this.node.hangUp(connection.remotePeer).catch(() => {})
  }

  private parsePeerId (text: string): PeerId {
    return parsePeerIdText(text)
  }

  /**
   * Runs `use` (which dials `peerId` if need be), looking the peer up first unless connected.
   * When that fails after a lookup answered with the peer's signed record, the record may be an
   * old one (see {@link NewerRecords}): a newer one from the whole DHT replaces the addresses
   * for one more try.
   */
  private async reach<T> (peerId: string, signal: AbortSignal, use: (id: PeerId) => Promise<T>): Promise<T> {
    const id = this.parsePeerId(peerId)
    if (this.node.getConnections(id).length > 0) return await use(id)
    const found = await this.locate(peerId)
    await this.node.peerStore.merge(id, { multiaddrs: found.multiaddrs })
    try {
      return await use(id)
    } catch (err) {
      if (found.seq == null || signal.aborted) throw err
      const newer = await this.newerRecords.after(peerId, found.seq, signal)
      if (newer == null) throw err
      await this.node.peerStore.patch(id, { multiaddrs: newer })
      return await use(id)
    }
  }
}
