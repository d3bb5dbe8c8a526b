import { quantityBytes } from './quantity.js'
import type { AnchorFleetSpec, FleetPeering } from '@meganet/contracts'

export const ANCHOR_PORTS = { tcp: 4001, ws: 4002, webrtcDirect: 4003, webrtcDirectRotation: 4004, http: 9464 } as const

/** One of the anchor's peer-facing ports, and how a peer's multiaddrs for it read. */
export interface PeerPort {
  /** The container port's and every Service port's name (at most 15 characters). */
  readonly name: string
  readonly port: number
  readonly protocol: 'TCP' | 'UDP'
  /**
   * The multiaddrs of this port at `host` (`/ip4/1.2.3.4`, `/ip6/…` or `/dns/name`) and `port`.
   * A WebRTC-direct one has no `/certhash/`: the anchor adds its current one when it announces it.
   */
  readonly multiaddrs: (host: string, port: number) => string[]
}

/**
 * The ports peers reach an anchor on, for a fleet's spec. Each row becomes a container port (a
 * host port with HostPort exposure), a port of the headless and per-anchor Services, and
 * announce addresses: a new transport is one more row.
 */
export function peerPorts (spec: Pick<AnchorFleetSpec, 'browser'>): PeerPort[] {
  const wss = spec.browser.wssSecretName != null
  const webrtcDirect = (host: string, port: number): string[] => [`${host}/udp/${port}/webrtc-direct`]
  return [
    { name: 'p2p-tcp', port: ANCHOR_PORTS.tcp, protocol: 'TCP', multiaddrs: (host, port) => [`${host}/tcp/${port}`] },
    // With a certificate the WebSocket port speaks TLS too (browsers on https:// pages dial /tls/ws).
    { name: 'p2p-ws', port: ANCHOR_PORTS.ws, protocol: 'TCP', multiaddrs: (host, port) => [`${host}/tcp/${port}/ws`, ...(wss ? [`${host}/tcp/${port}/tls/ws`] : [])] },
    ...(spec.browser.webrtcDirect
      ? [
          { name: 'p2p-webrtc', port: ANCHOR_PORTS.webrtcDirect, protocol: 'UDP' as const, multiaddrs: webrtcDirect },
          { name: 'p2p-webrtc-r', port: ANCHOR_PORTS.webrtcDirectRotation, protocol: 'UDP' as const, multiaddrs: webrtcDirect }
        ]
      : [])
  ]
}
export const DATA_DIR = '/data'
export const CONFIG_DIR = '/etc/meganet'
export const NATS_CREDS_DIR = '/etc/meganet/nats'
/** Where the CA that verifies NATS's servers is mounted (one file, `ca.crt`). */
export const NATS_CA_DIR = '/etc/meganet/nats-ca'
/** Where a fleet's WSS Secret (kubernetes.io/tls) is mounted. */
export const WSS_DIR = '/etc/meganet/wss'
/** Where the operator's announce ConfigMap (one key per pod) is mounted. */
export const ANNOUNCE_DIR = '/etc/meganet/announce'
/** Headroom left on the volume for the filesystem and temporary files. */
const STORAGE_HEADROOM = 0.9

/**
 * The anchor's `peering` option for a fleet's peered fleets: one `<bootstrap URL>#<pin>[+<pin>...]`
 * per fleet (the form of `--peering` and MEGANET_PEERING, there comma-separated; in the config
 * file a list, so a comma in a URL stays whole).
 */
export function peeringOption (peering: readonly FleetPeering[]): string[] {
  return peering.map(p => `${p.bootstrapUrl}#${p.pins.join('+')}`)
}

/** The anchor's config file (JSON, which the anchor's YAML loader reads) for a fleet's spec. */
export function anchorConfig (fleet: string, spec: AnchorFleetSpec, operatorKeys: readonly string[] = []): Record<string, unknown> {
  const relay = Object.fromEntries(Object.entries(spec.relay ?? {}).filter(([, v]) => v != null))
  return {
    dataDir: DATA_DIR,
    roles: spec.roles,
    listen: {
      host: '0.0.0.0', tcpPort: ANCHOR_PORTS.tcp, wsPort: ANCHOR_PORTS.ws,
      webrtcDirectPort: ANCHOR_PORTS.webrtcDirect, webrtcDirectRotationPort: ANCHOR_PORTS.webrtcDirectRotation
    },
    webrtcDirect: { enabled: spec.browser.webrtcDirect },
    ...(spec.browser.wssSecretName != null ? { wss: { certFile: `${WSS_DIR}/tls.crt`, keyFile: `${WSS_DIR}/tls.key` } } : {}),
    http: { host: '0.0.0.0', port: ANCHOR_PORTS.http },
    fleet: { region: spec.region, name: fleet },
    ...(operatorKeys.length > 0 ? { coordination: { operatorKeys: [...operatorKeys] } } : {}),
    ...(Object.keys(relay).length > 0 ? { relay } : {}),
    // Other operators' fleets: a change rolls the anchors (the config hash), which read it at start.
    ...(spec.peering != null && spec.peering.length > 0 ? { peering: peeringOption(spec.peering) } : {}),
    ...(spec.peeringRefresh != null ? { peeringRefresh: spec.peeringRefresh } : {}),
    storage: {
      capacity: Math.floor(quantityBytes(spec.storage.size) * STORAGE_HEADROOM),
      replication: spec.storage.replication,
      writeQuorum: spec.storage.writeQuorum
    },
    ...(spec.nats != null
      ? {
          nats: {
            servers: spec.nats.url.split(',').map(s => s.trim()),
            ...(spec.nats.credentialsSecret != null ? { credsFile: `${NATS_CREDS_DIR}/${spec.nats.credentialsSecret.key}` } : {}),
            ...(spec.nats.identityNkey === true ? { identityNkey: true } : {}),
            ...(spec.nats.tls != null ? { tls: { caFile: `${NATS_CA_DIR}/ca.crt` } } : {})
          }
        }
      : {})
  }
}
