import { PROTOCOLS, lookupReplySchema, lookupRequestSchema } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { toString as bytesToString } from 'uint8arrays'
import { jsonFrames } from '../net/json-frames.js'
import type { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import type { PeerDirectory } from '../coordination/peer-directory.js'
import type { Logger } from '../logging/logger.js'
import type { RelayGuard } from '../relay/relay-guard.js'
import type { VerifiedPeerRecord } from '../dht/peer-records.js'
import type { LookupReply } from '@meganet/contracts'
import type { Libp2p, Stream } from '@libp2p/interface'

const LOOKUP_TIMEOUT_MS = 5_000
/** Fellow anchors asked at once on a directory miss, and how long they get. */
const MAX_FELLOWS_ASKED = 16
const FELLOW_TIMEOUT_MS = 2_000

export interface LookupSources {
  readonly node: Libp2p
  readonly guard: RelayGuard
  /** The fleet's peer directory while coordination is connected. */
  directory: () => PeerDirectory | undefined
  /** This anchor's dialable addresses, each ending in /p2p/<anchor>. */
  addresses: () => string[]
  /** Fellow anchors of the fleet (by their signed records), asked when the directory has no answer. */
  fellows: () => string[]
  /** The peer's own signed record from the DHT directory (any operator's peers), the last resort. */
  record: (peerId: string) => Promise<VerifiedPeerRecord | undefined>
  readonly metrics: CoordinationMetrics
  readonly log: Logger
}

/** Circuit addresses of a peer reserved on an anchor with these addresses. */
export function circuitAddresses (anchorAddresses: readonly string[], peerId: string): string[] {
  return anchorAddresses.filter(a => !a.includes('/p2p-circuit')).map(a => `${a}/p2p-circuit/p2p/${peerId}`)
}

/**
 * Serves `/meganet/lookup/1.0.0`: "where is peer X?" answered from this anchor's own
 * reservations, then the fleet-wide peer directory, then the DHT directory (the peer's signed
 * record, which crosses operators), then the fleet's other anchors (a peer whose record is not
 * put yet, or a directory entry someone on NATS deleted). A miss tells the peer to try the DHT itself.
 */
export async function handleLookup (sources: LookupSources, stream: Stream): Promise<void> {
  const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS)
  const frames = jsonFrames(stream)
  try {
    const { peerId, local } = await frames.read(lookupRequestSchema, signal)
    const reply = await answer(sources, peerId, local === true)
    sources.metrics.lookups.inc({ result: reply.found ? reply.source : 'miss' })
    await frames.write(reply, signal)
    await stream.close({ signal })
  } catch (err) {
    sources.metrics.lookups.inc({ result: 'error' })
    sources.log.debug({ err: (err as Error).message }, 'lookup failed')
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

async function answer (sources: LookupSources, peerId: string, localOnly: boolean): Promise<LookupReply> {
  let id
  try {
    id = peerIdFromString(peerId)
  } catch {
    return { found: false }
  }
  if (sources.guard.reservedPeers().some(p => p.equals(id))) {
    return { found: true, source: 'local', multiaddrs: circuitAddresses(sources.addresses(), peerId) }
  }
  if (localOnly) return { found: false }
  const entry = await sources.directory()?.lookup(peerId).catch(() => undefined)
  if (entry != null && entry.multiaddrs.length > 0) return { found: true, source: 'directory', multiaddrs: entry.multiaddrs }
  // The peer's own signed record answers for peers of every operator; the fellows only for this
  // fleet's peers, so asking them first cost every cross-operator lookup a round of streams.
  const record = await sources.record(peerId).catch(() => undefined)
  if (record != null) return { found: true, source: 'record', record: bytesToString(record.bytes, 'base64url') }
  return await askFellows(sources, peerId)
}

/**
 * The directory is a cache of what the fleet's anchors know, and anyone who can write to NATS
 * can delete from it: when neither it nor the DHT knows the peer, ask the fellow anchors
 * themselves (each answers from its own reservations).
 */
async function askFellows (sources: LookupSources, peerId: string): Promise<LookupReply> {
  const fellows = sources.fellows().slice(0, MAX_FELLOWS_ASKED)
  if (fellows.length === 0) return { found: false }
  const controller = new AbortController()
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(FELLOW_TIMEOUT_MS)])
  const asks = fellows.map(async fellow => {
    const stream = await sources.node.dialProtocol(peerIdFromString(fellow), LOOKUP_PROTOCOL, { signal })
    const frames = jsonFrames(stream)
    await frames.write({ peerId, local: true }, signal)
    const reply = await frames.read(lookupReplySchema, signal)
    await stream.close({ signal }).catch(() => {})
    // A fellow vouches only for its own reservations: the addresses must lead through it.
    if (!reply.found || reply.source !== 'local' || !('multiaddrs' in reply) || reply.multiaddrs.some(a => !a.endsWith(`/p2p/${fellow}/p2p-circuit/p2p/${peerId}`))) throw new Error('not there')
    return reply
  })
  try {
    const reply = await Promise.any(asks)
    return { found: true, source: 'directory', multiaddrs: 'multiaddrs' in reply ? reply.multiaddrs : [] }
  } catch {
    return { found: false }
  } finally {
    controller.abort()
  }
}

export const LOOKUP_PROTOCOL = PROTOCOLS.lookup
