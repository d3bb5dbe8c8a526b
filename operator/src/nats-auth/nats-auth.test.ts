import { createServer, fromPublic } from '@nats-io/nkeys'
import { describe, expect, it } from 'vitest'
import { NATS_IDENTITY_ANNOTATION } from '@meganet/contracts'
import { keyId, natsAccountOfPeerId, natsKeyAuthenticator, natsUserOfPeerId, peerIdOfNatsServer, signingKeyFromSeed } from '@meganet/fleet-client'
import { admit, authorizationRequestSchema } from './admission.js'
import { AUTH_CONFIG_KEY, natsAuthConfig } from './auth-config.js'
import { NatsJwtError, decodeJwtClaims, encodeJwt, verifyJwt } from './nats-jwt.js'
import { anchorPodAt } from './anchor-pods.js'
import type { AuthorizationRequest } from './admission.js'
import type { AnchorPodsView, WatchedFleetRef } from './anchor-pods.js'
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node'

const operatorKey = signingKeyFromSeed(new Uint8Array(32).fill(1))
const anchorKey = signingKeyFromSeed(new Uint8Array(32).fill(2))
const anchorId = keyId(anchorKey)
const scope = { region: 'eu', fleet: 'one' }
/** A server ID (`N…`), as nats-server makes its own. */
const SERVER = createServer().getPublicKey()

function request (overrides: { nkey?: string, sig?: string, nonce?: string, host?: string } = {}): AuthorizationRequest {
  const nonce = overrides.nonce ?? 'server-nonce'
  const auth = natsKeyAuthenticator(anchorKey)(nonce)
  return authorizationRequestSchema.parse({
    iss: SERVER,
    nats: {
      type: 'authorization_request',
      server_id: { id: SERVER },
      user_nkey: natsUserOfPeerId(keyId(signingKeyFromSeed(new Uint8Array(32).fill(9)))),
      client_info: { host: overrides.host ?? '10.0.0.7', nonce },
      connect_opts: { nkey: overrides.nkey ?? auth.nkey, sig: overrides.sig ?? auth.sig }
    }
  })
}

const pods = (address: string): { scope: typeof scope } | undefined => address === '10.0.0.7' ? { scope } : undefined

describe('admission of NATS logins', () => {
  it('admits a key that signed the nonce, from an anchor pod, as that key in that pod\'s fleet', () => {
    expect(admit(request(), pods)).toEqual({ peerId: anchorId, scope })
    expect(peerIdOfNatsServer(SERVER)).toMatch(/^12D3KooW/)
    expect(peerIdOfNatsServer(natsUserOfPeerId(anchorId))).toBeUndefined()
  })

  it('refuses no nkey, a signature of another nonce, a foreign key\'s name, and addresses of no anchor pod', () => {
    const noNkey = authorizationRequestSchema.parse({ iss: SERVER, nats: { ...request().nats, connect_opts: {} } })
    expect(admit(noNkey, pods)).toMatchObject({ reason: 'no-nkey' })
    expect(admit(request({ sig: natsKeyAuthenticator(anchorKey)('another nonce').sig }), pods)).toMatchObject({ reason: 'bad-signature' })
    expect(admit(request({ nkey: natsUserOfPeerId(keyId(operatorKey)) }), pods)).toMatchObject({ reason: 'bad-signature' })
    expect(admit(request({ nonce: '' }), pods)).toMatchObject({ reason: 'bad-signature' })
    expect(admit(request({ host: '10.0.0.8' }), pods)).toMatchObject({ reason: 'not-an-anchor-pod' })
  })

  it('parses only requests of the server\'s shape', () => {
    const base = request()
    expect(authorizationRequestSchema.safeParse({ ...base, nats: { ...base.nats, type: 'user' } }).success).toBe(false)
    expect(authorizationRequestSchema.safeParse({ ...base, nats: { ...base.nats, user_nkey: 'UNOTAKEY' } }).success).toBe(false)
    expect(authorizationRequestSchema.safeParse({ ...base, iss: 'NOTASERVER' }).success).toBe(false)
    // What the client sent is bounded but never stops the answer: too long counts as not sent.
    const long = authorizationRequestSchema.parse({ ...base, nats: { ...base.nats, client_info: { nonce: 'x'.repeat(300) }, connect_opts: { nkey: 'U'.repeat(100) } } })
    expect(long.nats.client_info.nonce).toBeUndefined()
    expect(admit(long, pods)).toMatchObject({ reason: 'no-nkey' })
  })
})

describe('NATS JWTs', () => {
  it('signs as the operator\'s account nkey, verifiable by nats nkeys, with the claims given', () => {
    const jwt = encodeJwt(operatorKey, { sub: 'USUBJECT', aud: 'MEGANET', nats: { type: 'user', version: 2 } }, 1_700_000_000_000)
    const [header, claims, signature] = jwt.split('.') as [string, string, string]
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ed25519-nkey' })
    const body = decodeJwtClaims(jwt) as Record<string, unknown>
    expect(body).toMatchObject({ sub: 'USUBJECT', aud: 'MEGANET', iat: 1_700_000_000, iss: natsAccountOfPeerId(keyId(operatorKey)) })
    expect(body.jti).toMatch(/^[A-Z2-7]{52}$/)
    const issuer = fromPublic(natsAccountOfPeerId(keyId(operatorKey)))
    expect(issuer.verify(Buffer.from(`${header}.${claims}`), Buffer.from(signature, 'base64url'))).toBe(true)
    expect(verifyJwt(jwt, keyId(operatorKey))).toBe(true)
    expect(verifyJwt(jwt, anchorId)).toBe(false)
    expect(verifyJwt(`${header}.${Buffer.from('{"sub":"UOTHER"}').toString('base64url')}.${signature}`, keyId(operatorKey))).toBe(false)
  })

  it('refuses what is not a JWT, or too big to be one', () => {
    expect(() => decodeJwtClaims('a.b')).toThrow(NatsJwtError)
    expect(() => decodeJwtClaims('a.!!!.c')).toThrow(NatsJwtError)
    expect(() => decodeJwtClaims(`a.${'b'.repeat(70_000)}.c`)).toThrow(/limit/)
  })
})

describe('the NATS auth config', () => {
  it('names the operator as the only configured user and the callout issuer, and holds no secret', () => {
    const text = natsAuthConfig(operatorKey)
    expect(AUTH_CONFIG_KEY).toBe('auth.conf')
    expect(text).toContain(natsUserOfPeerId(keyId(operatorKey)))
    expect(text).toContain(`"issuer": "${natsAccountOfPeerId(keyId(operatorKey))}"`)
    expect(text).toContain('"$SYS.REQ.USER.AUTH"')
    // A user seed on its own (SU and 56 more base32 characters), not "SU" inside a public key.
    expect(text).not.toMatch(/(?<![A-Z2-7])SU[A-Z2-7]{56}(?![A-Z2-7])|PRIVATE KEY|password/)
  })
})

describe('anchor pods by address', () => {
  const statefulSet: V1StatefulSet = { metadata: { name: 'one-anchor', namespace: 'ns', uid: 'sts-uid' } }
  const pod = (overrides: { ip?: string, labels?: Record<string, string>, owner?: string, hostNetwork?: boolean, phase?: string, annotations?: Record<string, string> } = {}): V1Pod => ({
    metadata: {
      name: 'one-anchor-0', namespace: 'ns', uid: 'pod-uid',
      ...(overrides.annotations != null ? { annotations: overrides.annotations } : {}),
      labels: overrides.labels ?? { 'app.kubernetes.io/name': 'meganet-anchor', 'app.kubernetes.io/instance': 'one' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'one-anchor', uid: overrides.owner ?? 'sts-uid', controller: true }]
    },
    spec: { containers: [], ...(overrides.hostNetwork === true ? { hostNetwork: true } : {}) },
    status: { phase: overrides.phase ?? 'Running', podIP: overrides.ip ?? '10.0.0.7' }
  })
  const view = (pods: V1Pod[], fleets: WatchedFleetRef[] = [{ namespace: 'ns', name: 'one', region: 'eu' }]): AnchorPodsView => ({
    pods: () => pods, fleets: () => fleets, statefulSet: (namespace, name) => namespace === 'ns' && name === 'one-anchor' ? statefulSet : undefined
  })

  it('finds a live pod of a fleet\'s own StatefulSet, with its fleet, the pod, and the key recorded on it', () => {
    const found = { scope: { region: 'eu', fleet: 'one' }, pod: { namespace: 'ns', name: 'one-anchor-0', uid: 'pod-uid' } }
    expect(anchorPodAt('10.0.0.7', view([pod()]))).toEqual(found)
    expect(anchorPodAt('10.0.0.7', view([pod({ annotations: { [NATS_IDENTITY_ANNOTATION]: anchorId } })]))).toEqual({ ...found, boundKey: anchorId })
    expect(anchorPodAt('10.0.0.8', view([pod()]))).toBeUndefined()
  })

  it('refuses pods that only look like anchors: wrong labels, another owner, host network, finished, or a fleet name two namespaces share', () => {
    expect(anchorPodAt('10.0.0.7', view([pod({ labels: { 'app.kubernetes.io/name': 'other', 'app.kubernetes.io/instance': 'one' } })]))).toBeUndefined()
    expect(anchorPodAt('10.0.0.7', view([pod({ owner: 'forged-uid' })]))).toBeUndefined()
    expect(anchorPodAt('10.0.0.7', view([pod({ hostNetwork: true })]))).toBeUndefined()
    expect(anchorPodAt('10.0.0.7', view([pod({ phase: 'Succeeded' })]))).toBeUndefined()
    expect(anchorPodAt('10.0.0.7', view([pod({ labels: { 'app.kubernetes.io/name': 'meganet-anchor', 'app.kubernetes.io/instance': 'one.x' } })]))).toBeUndefined()
    expect(anchorPodAt('10.0.0.7', view([pod()], [{ namespace: 'ns', name: 'one', region: 'eu' }, { namespace: 'other', name: 'one', region: 'eu' }]))).toBeUndefined()
    expect(anchorPodAt('10.0.0.7', view([pod()], [{ namespace: 'other', name: 'one', region: 'eu' }]))).toBeUndefined()
  })
})
