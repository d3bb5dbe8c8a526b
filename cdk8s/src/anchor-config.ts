import { quantityBytes } from './quantity.js'
import type { AnchorFleetSpec } from '@meganet/contracts'

export const ANCHOR_PORTS = { tcp: 4001, ws: 4002, http: 9464 } as const
export const DATA_DIR = '/data'
export const CONFIG_DIR = '/etc/meganet'
export const NATS_CREDS_DIR = '/etc/meganet/nats'
/** Headroom left on the volume for the filesystem and temporary files. */
const STORAGE_HEADROOM = 0.9

/** The anchor's config file (JSON, which the anchor's YAML loader reads) for a fleet's spec. */
export function anchorConfig (fleet: string, spec: AnchorFleetSpec, operatorKeys: readonly string[] = []): Record<string, unknown> {
  const relay = Object.fromEntries(Object.entries(spec.relay ?? {}).filter(([, v]) => v != null))
  return {
    dataDir: DATA_DIR,
    roles: spec.roles,
    listen: { host: '0.0.0.0', tcpPort: ANCHOR_PORTS.tcp, wsPort: ANCHOR_PORTS.ws },
    http: { host: '0.0.0.0', port: ANCHOR_PORTS.http },
    fleet: { region: spec.region, name: fleet },
    ...(operatorKeys.length > 0 ? { coordination: { operatorKeys: [...operatorKeys] } } : {}),
    ...(Object.keys(relay).length > 0 ? { relay } : {}),
    storage: {
      capacity: Math.floor(quantityBytes(spec.storage.size) * STORAGE_HEADROOM),
      replication: spec.storage.replication,
      writeQuorum: spec.storage.writeQuorum
    },
    ...(spec.nats != null
      ? {
          nats: {
            servers: spec.nats.url.split(',').map(s => s.trim()),
            ...(spec.nats.credentialsSecret != null ? { credsFile: `${NATS_CREDS_DIR}/${spec.nats.credentialsSecret.key}` } : {})
          }
        }
      : {})
  }
}
