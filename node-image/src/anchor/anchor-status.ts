import type { AnchorConfig } from '../config/anchor-config.js'
import type { CoordinationStatus } from '../coordination/coordinator.js'
import type { DrainProgress } from './anchor-drain.js'
import type { BrowserTransportStatus } from './browser-transports.js'
import type { StorageStatus } from './storage-role.js'
import type { PeeringStatus } from '../federation/peered-fleets.js'
import type { MemberPhase } from '@meganet/contracts'

export const ANCHOR_PHASES = ['starting', 'serving', 'draining', 'drained', 'stopping', 'stopped'] as const
export type AnchorPhase = (typeof ANCHOR_PHASES)[number]

export interface AnchorStatus {
  readonly peerId: string
  readonly version: string
  readonly phase: AnchorPhase
  readonly roles: readonly string[]
  readonly region: string
  readonly fleet: string
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
  /** What browsers dial: the WebRTC-direct certificates served now and the WSS certificate. */
  readonly browser: BrowserTransportStatus
  readonly anchors: { readonly configured: number, readonly connected: number }
  /** Other operators' fleets this anchor peers with (`peering`). */
  readonly peering: readonly PeeringStatus[]
  readonly coordination: CoordinationStatus
  readonly drain: DrainProgress | null
  readonly storage: StorageStatus | null
  readonly uptimeSeconds: number
}

export function routingTableSize (dht: unknown): number {
  if (dht != null && typeof dht === 'object' && 'routingTable' in dht) {
    const table = dht.routingTable
    if (table != null && typeof table === 'object' && 'size' in table && typeof table.size === 'number') return table.size
  }
  return 0
}

export function memberPhase (phase: AnchorPhase): MemberPhase {
  switch (phase) {
    case 'starting': return 'joining'
    case 'serving': return 'serving'
    case 'drained': return 'drained'
    default: return 'draining'
  }
}
