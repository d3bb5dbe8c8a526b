import { join } from 'node:path'
import { freeUdpPort } from '../net/ports.js'
import { CertificateRotation } from '../transports/webrtc-direct-rotation.js'
import { readWssCertificate } from '../transports/wss-certificate.js'
import { WEBRTC_DIRECT_CERT_FILE } from '../config/anchor-defaults.js'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { Logger } from '../logging/logger.js'
import type { WssCertificate } from '../transports/wss-certificate.js'
import type { RotatingWebRTCDirectInit } from '../transports/webrtc-direct-listener.js'

/** What the anchor serves browsers with: WebRTC-direct certificates and the WSS certificate. */
export interface BrowserTransports {
  readonly webrtcDirect?: RotatingWebRTCDirectInit
  readonly wss?: WssCertificate
  stop (): void
}

export interface BrowserTransportStatus {
  /** The WebRTC-direct certificates served now (two during a rotation's overlap), oldest first. */
  readonly webrtcDirect: ReadonlyArray<{ readonly certhash: string, readonly port: number, readonly notAfter: string }>
  readonly wss: { readonly fingerprint: string, readonly notAfter: string } | null
}

async function concretePort (port: number, host: string): Promise<number> {
  return port !== 0 ? port : await freeUdpPort(host === '0.0.0.0' || host === '::' ? undefined : host)
}

/** Loads (or makes) the WebRTC-direct certificates and reads the WSS files, before libp2p is built. */
export async function openBrowserTransports (config: AnchorConfig, log: Logger, announcedUdpPorts: ReadonlyMap<number, number> = new Map()): Promise<BrowserTransports> {
  const wss = config.wss.certFile != null && config.wss.keyFile != null
    ? await readWssCertificate({ certFile: config.wss.certFile, keyFile: config.wss.keyFile })
    : undefined
  if (!config.webrtcDirect.enabled) return { ...(wss != null ? { wss } : {}), stop: () => {} }
  const rotation = await CertificateRotation.open({
    file: join(config.dataDir, WEBRTC_DIRECT_CERT_FILE),
    settings: { lifetimeMs: config.webrtcDirect.certificateLifetime, overlapMs: config.webrtcDirect.certificateOverlap },
    log
  })
  const first = await concretePort(config.listen.webrtcDirectPort, config.listen.host)
  let second = await concretePort(config.listen.webrtcDirectRotationPort, config.listen.host)
  while (second === first) second = await concretePort(0, config.listen.host)
  return { webrtcDirect: { rotation, ports: [first, second], announcedPorts: announcedUdpPorts }, ...(wss != null ? { wss } : {}), stop: () => { rotation.stop() } }
}

export function browserTransportStatus (transports: BrowserTransports, wss: WssCertificate | undefined): BrowserTransportStatus {
  const ports = transports.webrtcDirect?.ports
  return {
    webrtcDirect: (transports.webrtcDirect?.rotation.served() ?? []).map(c => ({
      certhash: c.certhash,
      port: ports?.[c.generation % 2] ?? 0,
      notAfter: new Date(c.notAfter).toISOString()
    })),
    wss: wss == null ? null : { fingerprint: wss.fingerprint, notAfter: new Date(wss.notAfter).toISOString() }
  }
}
