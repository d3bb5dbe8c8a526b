import { SIGNATURE_DOMAINS, decodePayload, signedEnvelopeSchema } from '@meganet/contracts'
import { ed25519KeyOfPeerId, verifyWithPeerId } from './ed25519.js'
import type { SigningKey } from './ed25519.js'
import type { RejectionReason, SignatureDomain, SignedEnvelope } from '@meganet/contracts'
import type { z } from 'zod'

/** A verification outcome: the value, or why it was refused (a rejection-metric reason) and a message. */
export type Verified<T> =
  | { readonly ok: true, readonly value: T, readonly signer: string }
  | { readonly ok: false, readonly reason: RejectionReason, readonly message: string }

export function refused<T> (reason: RejectionReason, message: string): Verified<T> {
  return { ok: false, reason, message }
}

function signedBytes (domain: SignatureDomain, payload: string): Uint8Array {
  return new TextEncoder().encode(SIGNATURE_DOMAINS[domain] + payload)
}

/** The PeerId of a signing key, as text: what verifiers are configured with and records name. */
export function keyId (key: SigningKey): string {
  return key.publicKey.toString()
}

/** Signs `value` (as JSON text) for `domain` with an Ed25519 key (a libp2p `PrivateKey` will do). */
export async function signEnvelope (key: SigningKey, domain: SignatureDomain, value: unknown): Promise<SignedEnvelope> {
  const payload = JSON.stringify(value)
  const signature = await key.sign(signedBytes(domain, payload))
  return { signer: keyId(key), payload, signature: Buffer.from(signature).toString('base64url') }
}

/**
 * Checks an envelope's signature against the public key inside its signer's PeerId, then parses
 * and validates the payload with `schema`. Never throws: bytes from NATS or a peer may be anything.
 */
export function openEnvelope<T> (envelope: SignedEnvelope, domain: SignatureDomain, schema: z.ZodType<T>): Verified<T> {
  if (ed25519KeyOfPeerId(envelope.signer) == null) return refused('malformed', `signer ${envelope.signer} is not an Ed25519 PeerId`)
  const valid = verifyWithPeerId(envelope.signer, signedBytes(domain, envelope.payload), Buffer.from(envelope.signature, 'base64url'))
  if (!valid) return refused('bad_signature', `signature does not match: not signed by ${envelope.signer}, or altered`)
  let json: unknown
  try {
    json = JSON.parse(envelope.payload)
  } catch {
    return refused('malformed', 'signed payload is not JSON')
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return refused('malformed', `signed payload: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  return { ok: true, value: parsed.data, signer: envelope.signer }
}

/** Decodes coordination bytes (size-checked JSON) as an envelope, then opens it. */
export function openEnvelopeBytes<T> (bytes: Uint8Array, domain: SignatureDomain, schema: z.ZodType<T>): Verified<T> {
  const decoded = decodePayload(signedEnvelopeSchema, bytes)
  if (!decoded.ok) return refused(decoded.reason, decoded.message)
  return openEnvelope(decoded.value, domain, schema)
}
