/**
 * Per-peer admission for the store: a token bucket on bytes per second and a rolling daily
 * quota of bytes. Idle peers are forgotten so the table stays small.
 */
export interface PeerLimitsInit {
  /** Bytes per second a peer may upload; null lifts it. */
  readonly bytesPerSecond: number | null
  /** Bytes a peer may upload per 24 hours; null lifts it. */
  readonly bytesPerDay: number | null
}

export type Admission = { ok: true } | { ok: false, code: 'rate_limited' | 'quota_exceeded', message: string }

interface PeerState {
  tokens: number
  refilledAt: number
  dayStartedAt: number
  dayBytes: number
}

const DAY_MS = 24 * 60 * 60 * 1000
const FORGET_AFTER_MS = 10 * 60 * 1000

export class PeerLimits {
  private readonly init: PeerLimitsInit
  private readonly peers = new Map<string, PeerState>()
  private lastSweep = Date.now()

  constructor (init: PeerLimitsInit) {
    this.init = init
  }

  /** Admits `bytes` from `peer` now, or says which limit refuses them. */
  admit (peer: string, bytes: number, now = Date.now()): Admission {
    this.sweep(now)
    const { bytesPerSecond, bytesPerDay } = this.init
    let state = this.peers.get(peer)
    if (state == null) {
      // A fresh peer may burst one second's worth, or one block, whichever is larger.
      state = { tokens: Math.max(bytesPerSecond ?? 0, bytes), refilledAt: now, dayStartedAt: now, dayBytes: 0 }
      this.peers.set(peer, state)
    }
    if (now - state.dayStartedAt >= DAY_MS) { state.dayStartedAt = now; state.dayBytes = 0 }
    if (bytesPerDay != null && state.dayBytes + bytes > bytesPerDay) {
      return { ok: false, code: 'quota_exceeded', message: `daily quota of ${bytesPerDay} bytes reached (${state.dayBytes} used); it resets ${new Date(state.dayStartedAt + DAY_MS).toISOString()}` }
    }
    if (bytesPerSecond != null) {
      const capacity = Math.max(bytesPerSecond, bytes)
      state.tokens = Math.min(capacity, state.tokens + ((now - state.refilledAt) / 1000) * bytesPerSecond)
      state.refilledAt = now
      if (state.tokens < bytes) {
        const waitMs = Math.ceil(((bytes - state.tokens) / bytesPerSecond) * 1000)
        return { ok: false, code: 'rate_limited', message: `upload rate above ${bytesPerSecond} bytes/s; retry in ${waitMs} ms` }
      }
      state.tokens -= bytes
    }
    state.dayBytes += bytes
    return { ok: true }
  }

  private sweep (now: number): void {
    if (now - this.lastSweep < FORGET_AFTER_MS) return
    this.lastSweep = now
    for (const [peer, state] of this.peers) {
      if (now - state.refilledAt > FORGET_AFTER_MS && now - state.dayStartedAt >= DAY_MS) this.peers.delete(peer)
    }
  }
}
