import { randomBytes } from 'node:crypto'
import { DEFAULT_COMMAND_LIFETIME_MS, MAX_CLOCK_SKEW_MS, MAX_COMMAND_LIFETIME_MS, commandRequestSchema } from '@meganet/contracts'
import { openEnvelopeBytes, refused, signEnvelope } from './signed-envelope.js'
import type { Verified } from './signed-envelope.js'
import type { AnchorCommand, CommandRequest, FleetScope, SignedEnvelope } from '@meganet/contracts'
import type { SigningKey } from './ed25519.js'

/** Signs a command for one anchor, valid for a short while. */
export async function signCommand (key: SigningKey, command: AnchorCommand, target: { readonly anchor: string, readonly scope: FleetScope },
  options: { readonly now?: number, readonly lifetimeMs?: number } = {}): Promise<SignedEnvelope> {
  const now = options.now ?? Date.now()
  const request: CommandRequest = {
    command,
    anchor: target.anchor,
    region: target.scope.region,
    fleet: target.scope.fleet,
    issuedAt: now,
    expiresAt: now + (options.lifetimeMs ?? DEFAULT_COMMAND_LIFETIME_MS),
    nonce: randomBytes(18).toString('base64url')
  }
  return await signEnvelope(key, 'command', request)
}

const MAX_REMEMBERED_NONCES = 10_000

/**
 * Nonces of commands already carried out, kept until the commands expire, so a recorded
 * command cannot be played again (e.g. an old `undrain` after a `drain`).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>()

  /** True the first time a nonce is offered before it expires; false for a replay (or when full). */
  admit (nonce: string, expiresAt: number, now = Date.now()): boolean {
    if (this.seen.has(nonce)) return false
    if (this.seen.size >= MAX_REMEMBERED_NONCES) {
      for (const [key, expiry] of this.seen) if (expiry < now) this.seen.delete(key)
      if (this.seen.size >= MAX_REMEMBERED_NONCES) return false
    }
    this.seen.set(nonce, expiresAt)
    return true
  }
}

export interface CommandCheck {
  /** This anchor's PeerId: a command for another anchor is refused. */
  readonly anchor: string
  readonly scope: FleetScope
  /** PeerIds of the operator keys this anchor trusts; empty trusts nobody. */
  readonly trusted: ReadonlySet<string>
  readonly replay: ReplayGuard
  readonly now?: number
}

/** Verifies a command: signed by a trusted operator key, for this anchor and fleet, current, and not seen before. */
export function verifyCommand (bytes: Uint8Array, check: CommandCheck): Verified<CommandRequest> {
  const opened = openEnvelopeBytes(bytes, 'command', commandRequestSchema)
  if (!opened.ok) return opened
  const request = opened.value
  const now = check.now ?? Date.now()
  if (!check.trusted.has(opened.signer)) {
    return refused('untrusted', check.trusted.size === 0
      ? 'this anchor trusts no operator key (coordination.operatorKeys): commands are refused'
      : `signer ${opened.signer} is not a trusted operator key`)
  }
  if (request.anchor !== check.anchor) return refused('mismatch', `command is for anchor ${request.anchor}`)
  if (request.region !== check.scope.region || request.fleet !== check.scope.fleet) return refused('mismatch', `command is for fleet ${request.region}/${request.fleet}`)
  if (request.issuedAt > now + MAX_CLOCK_SKEW_MS) return refused('future', 'command issued in the future')
  if (request.expiresAt < now) return refused('stale', 'command expired')
  if (request.expiresAt - request.issuedAt > MAX_COMMAND_LIFETIME_MS) return refused('malformed', `command valid for longer than ${MAX_COMMAND_LIFETIME_MS} ms`)
  if (!check.replay.admit(request.nonce, request.expiresAt, now)) return refused('replayed', 'command already carried out (replayed)')
  return opened
}
