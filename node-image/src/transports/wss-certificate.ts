import { X509Certificate, createHash } from 'node:crypto'
import { createSecureContext } from 'node:tls'
import { readFile } from 'node:fs/promises'
import type { Logger } from '../logging/logger.js'
import type { Startable, TLSCertificate, TypedEventTarget, Libp2pEvents } from '@libp2p/interface'

export class WssCertificateError extends Error {
  override readonly name = 'WssCertificateError'
}

export interface WssCertificate extends TLSCertificate {
  /** When the certificate expires (ms since the epoch). */
  readonly notAfter: number
  /** SHA-256 fingerprint of the certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint: string
}

export interface WssCertificateFiles {
  readonly certFile: string
  readonly keyFile: string
}

/**
 * Reads a PEM certificate (chain) and its private key, e.g. from a mounted Secret, and checks
 * that they load and belong together before anything is served with them.
 */
export async function readWssCertificate (files: WssCertificateFiles): Promise<WssCertificate> {
  const read = async (file: string, what: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      throw new WssCertificateError(`cannot read the WSS ${what} ${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  const [cert, key] = await Promise.all([read(files.certFile, 'certificate'), read(files.keyFile, 'key')])
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new WssCertificateError(`${files.certFile} is not a PEM certificate: give wss.certFile a certificate (chain) such as tls.crt from a kubernetes.io/tls Secret`, { cause: err })
  }
  try {
    createSecureContext({ cert, key })
  } catch (err) {
    throw new WssCertificateError(`${files.keyFile} is not the private key of ${files.certFile} (${(err as Error).message}): give wss.keyFile the matching key (tls.key)`, { cause: err })
  }
  return { cert, key, notAfter: Date.parse(x509.validTo), fingerprint: x509.fingerprint256 }
}

function digest (certificate: TLSCertificate): string {
  return createHash('sha256').update(certificate.cert).update('\0').update(certificate.key).digest('hex')
}

export interface WssCertificateReloaderInit extends WssCertificateFiles {
  readonly initial: WssCertificate
  /** How often the files are read to see whether they changed. */
  readonly intervalMs: number
  readonly log: Logger
}

export interface WssCertificateReloaderComponents {
  readonly events: TypedEventTarget<Libp2pEvents>
}

/**
 * A libp2p service that gives the WebSocket listener its certificate once libp2p has started
 * (libp2p's `certificate:provision` event: the listener then speaks TLS on its port too, beside
 * plain WebSocket, and announces `/tls/ws`), then re-reads the WSS certificate and key every `intervalMs` and, when they
 * changed and load, hands them to the WebSocket listener (libp2p's `certificate:renew` event:
 * new TLS connections use the new certificate, open ones are left as they are). Files that do
 * not load (e.g. caught half-written) are logged and the current certificate is kept. Polling
 * rather than watching: a Secret volume is updated by swapping a symlink, which inotify on the
 * files themselves does not see.
 */
export class WssCertificateReloader implements Startable {
  private readonly init: WssCertificateReloaderInit
  private readonly components: WssCertificateReloaderComponents
  private current: WssCertificate
  private currentDigest: string
  private lastError?: string
  private timer?: NodeJS.Timeout

  constructor (components: WssCertificateReloaderComponents, init: WssCertificateReloaderInit) {
    this.components = components
    this.init = init
    this.current = init.initial
    this.currentDigest = digest(init.initial)
  }

  get certificate (): WssCertificate {
    return this.current
  }

  start (): void {
    this.timer = setInterval(() => { void this.check() }, this.init.intervalMs)
    this.timer.unref()
  }

  /** The WebSocket listeners exist once libp2p has started: they start serving TLS on their port. */
  afterStart (): void {
    this.components.events.safeDispatchEvent('certificate:provision', { detail: { cert: this.current.cert, key: this.current.key } })
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Reloads now when the files changed; resolves with whether a new certificate is served. */
  async check (): Promise<boolean> {
    let next: WssCertificate
    try {
      next = await readWssCertificate(this.init)
    } catch (err) {
      const message = (err as Error).message
      if (message !== this.lastError) this.init.log.error({ err: message }, 'cannot reload the WSS certificate; still serving the current one')
      this.lastError = message
      return false
    }
    this.lastError = undefined
    const nextDigest = digest(next)
    if (nextDigest === this.currentDigest) return false
    this.current = next
    this.currentDigest = nextDigest
    this.components.events.safeDispatchEvent('certificate:renew', { detail: { cert: next.cert, key: next.key } })
    this.init.log.info({ fingerprint: next.fingerprint, notAfter: new Date(next.notAfter).toISOString() }, 'reloaded the WSS certificate')
    return true
  }
}

export function wssCertificateReloader (init: WssCertificateReloaderInit): (components: WssCertificateReloaderComponents) => WssCertificateReloader {
  return (components) => new WssCertificateReloader(components, init)
}
