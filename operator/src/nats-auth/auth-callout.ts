import { AUTH_CALLOUT_SUBJECT, anchorPermissions } from '@meganet/fleet-client'
import { admit, authorizationRequestSchema } from './admission.js'
import { MAX_JWT_BYTES, decodeJwtClaims, encodeJwt } from './nats-jwt.js'
import type { FleetOfAddress } from './admission.js'
import type { SigningKey } from '@meganet/fleet-client'
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core'
import type { Counter } from 'prom-client'
import type { Logger } from 'pino'

/** The account anchors and the operator share on the chart's NATS (docs/coordination.md). */
export const MEGANET_ACCOUNT = 'MEGANET'

export interface AuthCalloutInit {
  readonly connection: NatsConnection
  /** Signs the answers: its account nkey is the `issuer` the server's config names. */
  readonly key: SigningKey
  readonly fleetOfAddress: FleetOfAddress
  readonly logins: Counter<'outcome'>
  readonly log: Logger
}

/**
 * The operator's answer to nats-server's auth callout: each login the server cannot decide
 * itself arrives as a signed request on `$SYS.REQ.USER.AUTH`; the answer is a user JWT with an
 * anchor's permissions for the key that logged in, or an error. Served by the leader, whose
 * caches know the fleets' pods.
 */
export class AuthCallout {
  private readonly init: AuthCalloutInit
  private readonly subscription: Subscription

  constructor (init: AuthCalloutInit) {
    this.init = init
    this.subscription = init.connection.subscribe(AUTH_CALLOUT_SUBJECT, { callback: (err, msg) => { if (err == null) this.answer(msg) } })
  }

  stop (): void {
    this.subscription.unsubscribe()
  }

  private answer (msg: Msg): void {
    if (msg.reply == null) return
    const { key, logins, log } = this.init
    const request = msg.data.byteLength <= MAX_JWT_BYTES ? authorizationRequestSchema.safeParse(safeDecode(msg.string())) : undefined
    if (request?.success !== true) {
      // Not a request the server would send: nothing to answer for, as it names no user.
      logins.inc({ outcome: 'malformed' })
      log.warn({ bytes: msg.data.byteLength }, 'auth callout: a message that is not an authorization request; ignored')
      return
    }
    const { user_nkey: user, server_id: server } = request.data.nats
    const decision = admit(request.data, this.init.fleetOfAddress)
    let nats: Record<string, unknown>
    if ('reason' in decision) {
      logins.inc({ outcome: decision.reason })
      log.warn({ reason: decision.reason }, `refused a NATS login: ${decision.message}`)
      nats = { error: decision.message }
    } else {
      logins.inc({ outcome: 'admitted' })
      const permissions = anchorPermissions(decision.peerId, decision.scope)
      const userJwt = encodeJwt(key, {
        sub: user,
        aud: MEGANET_ACCOUNT,
        name: decision.peerId,
        nats: {
          pub: { allow: permissions.publish.allow },
          sub: { allow: permissions.subscribe.allow },
          // Answers to the commands it receives: one each, the server's default window.
          resp: { max: 1, ttl: 0 },
          subs: -1, data: -1, payload: -1,
          type: 'user', version: 2
        }
      })
      log.debug({ peerId: decision.peerId, fleet: `${decision.scope.region}/${decision.scope.fleet}` }, 'admitted an anchor to NATS')
      nats = { jwt: userJwt }
    }
    msg.respond(encodeJwt(key, { sub: user, aud: server.id, nats: { ...nats, type: 'authorization_response', version: 2 } }))
  }
}

function safeDecode (text: string): unknown {
  try {
    return decodeJwtClaims(text)
  } catch {
    return undefined
  }
}
