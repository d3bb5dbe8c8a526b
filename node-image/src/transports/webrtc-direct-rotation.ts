import { createCertificate, loadCertificates, planRotation, saveCertificates } from './webrtc-direct-certificates.js'
import type { RotationSettings, WebRTCDirectCertificate } from './webrtc-direct-certificates.js'
import type { Logger } from '../logging/logger.js'

/** setTimeout cannot wait longer than this; a longer wait is done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface CertificateRotationInit {
  /** Where the certificates (with their private keys) are kept, e.g. `<dataDir>/webrtc-direct/certificates.json`. */
  readonly file: string
  readonly settings: RotationSettings
  readonly log: Logger
  readonly now?: () => number
}

/**
 * Keeps the WebRTC-direct certificates of an anchor: loads them from its data dir, makes the
 * next one when the current enters its overlap, retires the old one when it expires, and tells
 * its listeners (`change` events) which certificates to serve. At most two are served at once.
 */
export class CertificateRotation extends EventTarget {
  private readonly init: CertificateRotationInit
  private readonly now: () => number
  private current: readonly WebRTCDirectCertificate[] = []
  private timer?: NodeJS.Timeout
  private stopped = false
  private applying: Promise<void> = Promise.resolve()

  private constructor (init: CertificateRotationInit) {
    super()
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** Loads (or makes) the certificates to serve now, and keeps rotating them until `stop()`. */
  static async open (init: CertificateRotationInit): Promise<CertificateRotation> {
    const rotation = new CertificateRotation(init)
    await rotation.apply()
    return rotation
  }

  /** The certificates served now, oldest first. */
  served (): readonly WebRTCDirectCertificate[] {
    return this.current
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private async apply (): Promise<void> {
    const stored = await loadCertificates(this.init.file)
    let plan = planRotation(stored, this.now(), this.init.settings)
    let certificates = [...plan.keep]
    if (plan.create != null) {
      const created = await createCertificate(plan.create, this.now(), this.init.settings.lifetimeMs)
      certificates = [...plan.keep, created]
      await saveCertificates(this.init.file, certificates)
      this.init.log.info({ generation: created.generation, certhash: created.certhash, notAfter: new Date(created.notAfter).toISOString() },
        plan.keep.length > 0 ? 'made the next WebRTC-direct certificate; announcing both until the old one expires' : 'made a WebRTC-direct certificate')
      plan = planRotation(certificates, this.now(), this.init.settings)
    } else if (plan.keep.length !== stored.length) {
      await saveCertificates(this.init.file, certificates)
    }
    const changed = certificates.map(c => c.certhash).join() !== this.current.map(c => c.certhash).join()
    const retired = this.current.filter(c => !certificates.includes(c) && !certificates.some(k => k.certhash === c.certhash))
    for (const old of retired) this.init.log.info({ generation: old.generation, certhash: old.certhash }, 'retired an expired WebRTC-direct certificate')
    this.current = certificates
    if (changed) this.dispatchEvent(new Event('change'))
    this.schedule(plan.nextCheckAt)
  }

  private schedule (at: number): void {
    if (this.stopped || !Number.isFinite(at)) return
    clearTimeout(this.timer)
    const delay = Math.min(Math.max(at - this.now(), 0) + 10, MAX_TIMER_MS)
    this.timer = setTimeout(() => {
      this.applying = this.applying.then(async () => { if (!this.stopped) await this.apply() })
        .catch(err => {
          this.init.log.error({ err: (err as Error).message }, 'could not rotate the WebRTC-direct certificate; retrying in a minute')
          this.schedule(this.now() + 60_000)
        })
    }, delay)
    this.timer.unref()
  }
}
