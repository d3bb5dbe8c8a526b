import { z } from 'zod'
import { peerIdOfNatsUser, verifyWithPeerId } from '@meganet/fleet-client'
import type { FleetScope } from '@meganet/contracts'

/**
 * Who may log in to the fleets' NATS as an anchor: a client that proves it holds an Ed25519 key
 * (its nkey signs the server's nonce), connecting from the address of a pod of one of the
 * operator's fleets. It becomes the user of that key, with the permissions of an anchor of that
 * fleet: it can write only its own member key and directory entries, whatever else it claims.
 */

const text = (max: number): z.ZodString => z.string().max(max)

/** What the client sent, bounded; anything else (too long, not text) counts as not sent, so the client still gets an answer. */
const sent = (max: number): z.ZodType<string | undefined> => text(max).optional().catch(undefined)

/** The parts of nats-server's authorization request (nats-io/jwt `AuthorizationRequestClaims`) that admission reads. */
export const authorizationRequestSchema = z.object({
  /** The server that signed the request: its ID. */
  iss: text(64).regex(/^N[A-Z2-7]{55}$/),
  nats: z.object({
    type: z.literal('authorization_request'),
    server_id: z.object({ id: text(64).regex(/^N[A-Z2-7]{55}$/) }),
    user_nkey: text(64).regex(/^U[A-Z2-7]{55}$/),
    client_info: z.object({ host: sent(64), nonce: sent(256) }),
    connect_opts: z.object({ nkey: sent(64), sig: sent(256) })
  })
})

export type AuthorizationRequest = z.infer<typeof authorizationRequestSchema>

/** Which pod, to bind one key to it: its UID, and where to record the binding. */
export interface PodRef {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

/** An anchor pod: the fleet it serves and, to bind one key to it, the pod and the key recorded on it. */
export interface AnchorPod {
  readonly scope: FleetScope
  readonly pod?: PodRef
  /** The PeerId recorded on the pod (NATS_IDENTITY_ANNOTATION) at its first login, if any. */
  readonly boundKey?: string
}

/** An anchor admitted: its identity, the fleet whose anchor it may act as, and its pod. */
export interface Admitted extends AnchorPod {
  readonly peerId: string
}

export const REFUSAL_REASONS = ['no-nkey', 'bad-signature', 'not-an-anchor-pod', 'another-key-for-pod', 'binding-not-recorded'] as const

/** Why a client was refused: a metric label, and one line for the log. */
export interface Refused {
  readonly reason: (typeof REFUSAL_REASONS)[number]
  readonly message: string
}

/** The anchor pod that has this address, if any (the operator's pod and fleet caches). */
export type FleetOfAddress = (address: string) => AnchorPod | undefined

function signatureBytes (sig: string): Uint8Array {
  // nats.js sends base64url without padding; other clients standard base64.
  return /[+/=]/.test(sig) ? Buffer.from(sig, 'base64') : Buffer.from(sig, 'base64url')
}

export function admit (request: AuthorizationRequest, fleetOfAddress: FleetOfAddress): Admitted | Refused {
  const { connect_opts: connect, client_info: client } = request.nats
  const peerId = connect.nkey != null ? peerIdOfNatsUser(connect.nkey) : undefined
  if (peerId == null) return { reason: 'no-nkey', message: 'the client sent no user nkey: anchors log in with their identity key (nats.identityNkey)' }
  if (connect.sig == null || client.nonce == null || client.nonce === '' ||
    !verifyWithPeerId(peerId, new TextEncoder().encode(client.nonce), signatureBytes(connect.sig))) {
    return { reason: 'bad-signature', message: `the client's signature of the server nonce does not verify against ${connect.nkey ?? ''}` }
  }
  const pod = client.host != null ? fleetOfAddress(client.host) : undefined
  if (pod == null) return { reason: 'not-an-anchor-pod', message: `${client.host ?? 'an unknown address'} is not the address of a pod of a fleet this operator runs` }
  return { peerId, ...pod }
}
