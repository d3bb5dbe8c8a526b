import { MAX_BOOTSTRAP_LIST_BYTES, signBootstrapList } from './signed-list.js'
import type { BootstrapEntry, PeeredFleet } from '@meganet/contracts'
import type { PrivateKey } from '@libp2p/interface'

export interface BootstrapListCacheInit {
  readonly key: PrivateKey
  readonly issuer: string
  /** How long each signed list is valid. */
  readonly ttlMs: number
  /** Re-sign when the list is this old even if nothing changed (well before it expires). */
  readonly refreshMs: number
}

/**
 * The anchor's signed bootstrap list, signed once and served as the same bytes until the
 * anchors in it change or it ages past `refreshMs`: an HTTP flood costs no signatures.
 */
export class BootstrapListCache {
  private readonly init: BootstrapListCacheInit
  private readonly entries: () => BootstrapEntry[]
  private readonly peered: () => PeeredFleet[]
  private current?: { key: string, issuedAt: number, json: string }
  private signing?: Promise<string>

  constructor (init: BootstrapListCacheInit, entries: () => BootstrapEntry[], peered: () => PeeredFleet[] = () => []) {
    this.init = init
    this.entries = entries
    this.peered = peered
  }

  async json (now = Date.now()): Promise<string> {
    const entries = this.entries()
    const peered = this.peered()
    // A peered list is known by its signature: no need to serialize it for every request.
    const key = JSON.stringify([entries, peered.map(p => p.list.signature)])
    const current = this.current
    if (current != null && current.key === key && now - current.issuedAt < this.init.refreshMs) return current.json
    this.signing ??= (async () => {
      // Peered fleets' lists that would take the list past what verifiers read are left out, last first.
      let json: string
      for (let kept = peered.length; ; kept--) {
        json = JSON.stringify(await signBootstrapList(this.init.key, this.init.issuer, entries, this.init.ttlMs, now, peered.slice(0, kept)))
        if (json.length <= MAX_BOOTSTRAP_LIST_BYTES || kept === 0) break
      }
      this.current = { key, issuedAt: now, json }
      return json
    })().finally(() => { this.signing = undefined })
    return await this.signing
  }
}
