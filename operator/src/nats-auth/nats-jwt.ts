import { createHash } from 'node:crypto'
import { base32, keyId, natsAccountOfPeerId, verifyWithPeerId } from '@meganet/fleet-client'
import type { SigningKey } from '@meganet/fleet-client'

/**
 * NATS JWTs (nats-io/jwt v2) as auth callout exchanges them: a header naming `ed25519-nkey`, the
 * claims, and an Ed25519 signature by the issuer's nkey over `header.claims`. Only what the
 * operator needs: sign user and authorization-response claims, read authorization requests.
 */

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' })).toString('base64url')
/** Requests are a few KiB (more with client certificates); anything far larger is not one. */
export const MAX_JWT_BYTES = 64 * 1024

export class NatsJwtError extends Error {
  override readonly name = 'NatsJwtError'
}

/** Claims every NATS JWT carries besides its own `nats` section. */
export interface JwtClaims {
  readonly sub: string
  readonly aud?: string
  readonly name?: string
  readonly exp?: number
  readonly nats: Record<string, unknown>
}

/** Signs `claims` as the account nkey of `key` (the operator's command key). */
export function encodeJwt (key: SigningKey, claims: JwtClaims, now = Date.now()): string {
  const body: Record<string, unknown> = { ...claims, iat: Math.floor(now / 1000), iss: natsAccountOfPeerId(keyId(key)) }
  // As nats-io/jwt names a JWT: the SHA-256 of its claims without the id, in base32.
  body.jti = base32(createHash('sha256').update(JSON.stringify(body)).digest())
  const payload = `${HEADER}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`
  const signature = key.sign(Buffer.from(payload))
  if (signature instanceof Promise) throw new NatsJwtError('encodeJwt needs a key that signs synchronously')
  return `${payload}.${Buffer.from(signature).toString('base64url')}`
}

/** True when `jwt` carries the Ed25519 signature of the key `signerPeerId` names over its header and claims. */
export function verifyJwt (jwt: string, signerPeerId: string): boolean {
  const parts = jwt.split('.')
  if (parts.length !== 3) return false
  return verifyWithPeerId(signerPeerId, Buffer.from(`${parts[0] ?? ''}.${parts[1] ?? ''}`), Buffer.from(parts[2] ?? '', 'base64url'))
}

/** The claims of a JWT, bounded and parsed; the caller validates their shape and checks the signature. */
export function decodeJwtClaims (text: string): unknown {
  if (text.length > MAX_JWT_BYTES) throw new NatsJwtError(`a JWT of ${text.length} bytes is over the ${MAX_JWT_BYTES}-byte limit`)
  const parts = text.split('.')
  if (parts.length !== 3) throw new NatsJwtError('not a JWT: expected three dot-separated parts')
  try {
    return JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
  } catch (err) {
    throw new NatsJwtError(`the JWT's claims are not JSON: ${(err as Error).message}`)
  }
}
