import { AUTH_CALLOUT_SUBJECT, anchorPermissions, peerIdOfNatsServer } from '@meganet/fleet-client'
import { admit, authorizationRequestSchema } from './admission.js'
import { MAX_JWT_BYTES, decodeJwtClaims, encodeJwt, verifyJwt } from './nats-jwt.js'
import type { Admitted, AuthorizationRequest, FleetOfAddress, PodRef, Refused } from './admission.js'
import type { SigningKey } from '@meganet/fleet-client'
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core'
import type { Counter } from 'prom-client'
import type { Logger } from 'pino'

/** The account anchors and the operator share on the chart's NATS (docs/coordination.md). */
export const MEGANET_ACCOUNT = 'MEGANET'
/** Where nats-server expects answers: its own internal inboxes, nothing a client can publish on. */
const SERVER_INBOX_PREFIX = '$SYS._INBOX.'
/**
 * An admitted login lasts this long; then the server closes it and the client logs in again,
 * checked anew (its pod deleted, its fleet gone or moved: refused).
 */
export const LOGIN_LIFETIME_MS = 60 * 60 * 1000
/** Pods remembered with the one key each may log in with. */
const MAX_REMEMBERED_PODS = 20_000
/** Refusals are counted always and logged at most this often per reason (a flood must not flood the log). */
const LOG_EVERY_MS = 10_000

export interface AuthCalloutInit {
  readonly connection: NatsConnection
  /** Signs the answers: its account nkey is the `issuer` the server's config names. */
  readonly key: SigningKey
  readonly fleetOfAddress: FleetOfAddress
  readonly logins: Counter<'outcome'>
  readonly log: Logger
  /** How long an admitted login lasts. @default LOGIN_LIFETIME_MS */
  readonly loginLifetimeMs?: number
  /**
   * Records on the pod the one key it may log in with (NATS_IDENTITY_ANNOTATION), so a new
   * leader holds it to that key too. A login is admitted only once this succeeded. None: the
   * binding lives in this process only.
   */
  readonly recordBinding?: (pod: PodRef, peerId: string) => Promise<void>
}

/**
 * The operator's answer to nats-server's auth callout: each login the server cannot decide
 * itself arrives as a request signed by the server on `$SYS.REQ.USER.AUTH`; the answer is a user
 * JWT with an anchor's permissions for the key that logged in, or an error. Served by the
 * leader, whose caches know the fleets' pods.
 */
export class AuthCallout {
  private readonly init: AuthCalloutInit
  private readonly subscription: Subscription
  /** Pod UID → the one key admitted from it: a pod taken over cannot mint a crowd of members. */
  private readonly keysByPod = new Map<string, string>()
  /**
   * Pod UID → the recording of its key on the pod: under way (however many logins wait on it) or
   * done (the pod cache may not show it yet). A failed one is dropped, so the next login tries again.
   */
  private readonly recordings = new Map<string, Promise<void>>()
  private readonly lastLogged = new Map<string, number>()

  constructor (init: AuthCalloutInit) {
    this.init = init
    this.subscription = init.connection.subscribe(AUTH_CALLOUT_SUBJECT, {
      callback: (err, msg) => {
        if (err == null) this.answer(msg).catch((failure: unknown) => { this.warn('error', `could not answer a NATS login: ${(failure as Error).message}`) })
      }
    })
  }

  stop (): void {
    this.subscription.unsubscribe()
  }

  private async answer (msg: Msg): Promise<void> {
    const request = this.fromServer(msg)
    if (request == null) return
    const { key, logins } = this.init
    const { user_nkey: user, server_id: server } = request.nats
    const decision = await this.bindToPod(admit(request, this.init.fleetOfAddress))
    let nats: Record<string, unknown>
    if ('reason' in decision) {
      logins.inc({ outcome: decision.reason })
      this.warn(decision.reason, `refused a NATS login: ${decision.message}`)
      nats = { error: decision.message }
    } else {
      logins.inc({ outcome: 'admitted' })
      nats = { jwt: this.userJwt(user, decision) }
      this.init.log.debug({ peerId: decision.peerId, fleet: `${decision.scope.region}/${decision.scope.fleet}` }, 'admitted an anchor to NATS')
    }
    msg.respond(encodeJwt(key, { sub: user, aud: server.id, nats: { ...nats, type: 'authorization_response', version: 2 } }))
  }

  /**
   * The request, if the server sent it: signed by the server it names, with a reply to the
   * server's own inbox. Anything else (a message a client made JetStream deliver here, say) is
   * not answered: answering would sign an admission for someone else's choosing.
   */
  private fromServer (msg: Msg): AuthorizationRequest | undefined {
    const text = msg.data.byteLength <= MAX_JWT_BYTES ? msg.string() : ''
    const parsed = authorizationRequestSchema.safeParse(safeDecode(text))
    const server = parsed.success && parsed.data.iss === parsed.data.nats.server_id.id ? peerIdOfNatsServer(parsed.data.iss) : undefined
    if (!parsed.success || server == null || msg.reply?.startsWith(SERVER_INBOX_PREFIX) !== true || !verifyJwt(text, server)) {
      this.init.logins.inc({ outcome: 'forged' })
      this.warn('forged', `ignored a message on ${AUTH_CALLOUT_SUBJECT} that is not an authorization request signed by the server (${msg.data.byteLength} bytes)`)
      return undefined
    }
    return parsed.data
  }

  /**
   * Holds each pod to the first key admitted from it: the one recorded on the pod (by this
   * leader or an earlier one), else the one this process admitted. A first login is admitted
   * once its key is recorded on the pod.
   */
  private async bindToPod (decision: Admitted | Refused): Promise<Admitted | Refused> {
    if ('reason' in decision || decision.pod == null) return decision
    const { pod, peerId } = decision
    const bound = decision.boundKey ?? this.keysByPod.get(pod.uid)
    if (bound != null && bound !== peerId) {
      return { reason: 'another-key-for-pod', message: `pod ${pod.namespace}/${pod.name} already logged in as ${bound}; an anchor keeps one identity for its pod's life` }
    }
    if (bound == null) {
      if (this.keysByPod.size >= MAX_REMEMBERED_PODS) this.forget(this.keysByPod.keys().next().value ?? '')
      this.keysByPod.set(pod.uid, peerId)
    }
    const { recordBinding } = this.init
    if (decision.boundKey != null || recordBinding == null) return decision
    let recording = this.recordings.get(pod.uid)
    if (recording == null) {
      recording = recordBinding(pod, peerId)
      recording.catch(() => { if (this.recordings.get(pod.uid) === recording) this.recordings.delete(pod.uid) })
      this.recordings.set(pod.uid, recording)
    }
    try {
      await recording
      return decision
    } catch (err) {
      return { reason: 'binding-not-recorded', message: `could not record ${peerId} on pod ${pod.namespace}/${pod.name} (${(err as Error).message}); the anchor will retry` }
    }
  }

  private forget (uid: string): void {
    this.keysByPod.delete(uid)
    this.recordings.delete(uid)
  }

  private userJwt (user: string, anchor: Admitted): string {
    const permissions = anchorPermissions(anchor.peerId, anchor.scope)
    return encodeJwt(this.init.key, {
      sub: user,
      aud: MEGANET_ACCOUNT,
      name: anchor.peerId,
      exp: Math.floor((Date.now() + (this.init.loginLifetimeMs ?? LOGIN_LIFETIME_MS)) / 1000),
      nats: {
        pub: { allow: permissions.publish.allow },
        sub: { allow: permissions.subscribe.allow },
        // Answers to the commands it receives: one each, the server's default window.
        resp: { max: 1, ttl: 0 },
        subs: -1, data: -1, payload: -1,
        type: 'user', version: 2
      }
    })
  }

  private warn (reason: string, message: string): void {
    const now = Date.now()
    if (now - (this.lastLogged.get(reason) ?? 0) < LOG_EVERY_MS) return
    this.lastLogged.set(reason, now)
    this.init.log.warn({ reason }, message)
  }
}

function safeDecode (text: string): unknown {
  try {
    return decodeJwtClaims(text)
  } catch {
    return undefined
  }
}
