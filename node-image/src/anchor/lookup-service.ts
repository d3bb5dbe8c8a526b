import { PROTOCOLS, lookupRequestSchema } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { jsonFrames } from '../net/json-frames.js'
import type { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import type { PeerDirectory } from '../coordination/peer-directory.js'
import type { Logger } from '../logging/logger.js'
import type { RelayGuard } from '../relay/relay-guard.js'
import type { LookupReply } from '@meganet/contracts'
import type { Libp2p, Stream } from '@libp2p/interface'

const LOOKUP_TIMEOUT_MS = 5_000

export interface LookupSources {
  readonly node: Libp2p
  readonly guard: RelayGuard
  /** The fleet's peer directory while coordination is connected. */
  directory: () => PeerDirectory | undefined
  /** This anchor's dialable addresses, each ending in /p2p/<anchor>. */
  addresses: () => string[]
  readonly metrics: CoordinationMetrics
  readonly log: Logger
}

/** Circuit addresses of a peer reserved on an anchor with these addresses. */
export function circuitAddresses (anchorAddresses: readonly string[], peerId: string): string[] {
  return anchorAddresses.filter(a => !a.includes('/p2p-circuit')).map(a => `${a}/p2p-circuit/p2p/${peerId}`)
}

/**
 * Serves `/meganet/lookup/1.0.0`: "where is peer X?" answered from this anchor's own
 * reservations, then the fleet-wide peer directory. A miss tells the peer to walk the DHT.
 */
export async function handleLookup (sources: LookupSources, stream: Stream): Promise<void> {
  const signal = AbortSignal.timeout(LOOKUP_TIMEOUT_MS)
  const frames = jsonFrames(stream)
  try {
    const { peerId } = await frames.read(lookupRequestSchema, signal)
    const reply = await answer(sources, peerId)
    sources.metrics.lookups.inc({ result: reply.found ? reply.source : 'miss' })
    await frames.write(reply, signal)
    await stream.close({ signal })
  } catch (err) {
    sources.metrics.lookups.inc({ result: 'error' })
    sources.log.debug({ err: (err as Error).message }, 'lookup failed')
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

async function answer (sources: LookupSources, peerId: string): Promise<LookupReply> {
  let id
  try {
    id = peerIdFromString(peerId)
  } catch {
    return { found: false }
  }
  if (sources.guard.reservedPeers().some(p => p.equals(id))) {
    return { found: true, source: 'local', multiaddrs: circuitAddresses(sources.addresses(), peerId) }
  }
  const entry = await sources.directory()?.lookup(peerId)
  if (entry != null && entry.multiaddrs.length > 0) return { found: true, source: 'directory', multiaddrs: entry.multiaddrs }
  return { found: false }
}

export const LOOKUP_PROTOCOL = PROTOCOLS.lookup
