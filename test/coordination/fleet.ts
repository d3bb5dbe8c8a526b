import { AnchorProcess } from '../helpers/anchor-process.js'
import { testOperatorKey } from '../helpers/operator-key.js'

/** Coordination timings short enough for tests: a beat every 500 ms, a record stale after 2 s. */
export const HEARTBEAT_MS = 500
export const MEMBER_TTL_MS = 2_000

export async function fleetAnchor (
  natsUrls: string | string[], fleet: string, flags: Record<string, string> = {}, dataDir?: string, env?: Record<string, string>
): Promise<AnchorProcess> {
  return await AnchorProcess.start({
    ...(dataDir != null ? { dataDir } : {}),
    ...(env != null ? { env } : {}),
    flags: {
      'nats-servers': Array.isArray(natsUrls) ? natsUrls.join(',') : natsUrls,
      'fleet-name': fleet,
      'coordination-heartbeat': `${HEARTBEAT_MS}ms`,
      'coordination-member-ttl': `${MEMBER_TTL_MS}ms`,
      'coordination-operator-keys': testOperatorKey().id,
      ...flags
    }
  })
}

export interface CoordinationView {
  coordination: { state: string, members: number, heartbeatAgeSeconds: number | null }
  anchors: { configured: number, connected: number }
  phase: string
}

export async function coordinationOf (anchor: AnchorProcess): Promise<CoordinationView> {
  return await anchor.json<CoordinationView>('/status')
}
