import { fromPublic } from '@nats-io/nkeys'
import { describe, expect, it } from 'vitest'
import { keyId, natsAccountOfPeerId, natsKeyAuthenticator, natsUserOfPeerId, signingKeyFromSeed } from '@meganet/fleet-client'
import { admit, authorizationRequestSchema } from './admission.js'
import { AUTH_CONFIG_KEY, natsAuthConfig } from './auth-config.js'
import { NatsJwtError, decodeJwtClaims, encodeJwt } from './nats-jwt.js'
import type { AuthorizationRequest } from './admission.js'

const operatorKey = signingKeyFromSeed(new Uint8Array(32).fill(1))
const anchorKey = signingKeyFromSeed(new Uint8Array(32).fill(2))
const anchorId = keyId(anchorKey)
const scope = { region: 'eu', fleet: 'one' }

function request (overrides: { nkey?: string, sig?: string, nonce?: string, host?: string } = {}): AuthorizationRequest {
  const nonce = overrides.nonce ?? 'server-nonce'
  const auth = natsKeyAuthenticator(anchorKey)(nonce)
  return authorizationRequestSchema.parse({
    nats: {
      type: 'authorization_request',
      server_id: { id: 'NSERVER' },
      user_nkey: natsUserOfPeerId(keyId(signingKeyFromSeed(new Uint8Array(32).fill(9)))),
      client_info: { host: overrides.host ?? '10.0.0.7', nonce },
      connect_opts: { nkey: overrides.nkey ?? auth.nkey, sig: overrides.sig ?? auth.sig }
    }
  })
}

const pods = (address: string): typeof scope | undefined => address === '10.0.0.7' ? scope : undefined

describe('admission of NATS logins', () => {
  it('admits a key that signed the nonce, from an anchor pod, as that key in that pod\'s fleet', () => {
    expect(admit(request(), pods)).toEqual({ peerId: anchorId, scope })
  })

  it('refuses no nkey, a signature of another nonce, a foreign key\'s name, and addresses of no anchor pod', () => {
    const noNkey = authorizationRequestSchema.parse({ nats: { ...request().nats, connect_opts: {} } })
    expect(admit(noNkey, pods)).toMatchObject({ reason: 'no-nkey' })
    expect(admit(request({ sig: natsKeyAuthenticator(anchorKey)('another nonce').sig }), pods)).toMatchObject({ reason: 'bad-signature' })
    expect(admit(request({ nkey: natsUserOfPeerId(keyId(operatorKey)) }), pods)).toMatchObject({ reason: 'bad-signature' })
    expect(admit(request({ nonce: '' }), pods)).toMatchObject({ reason: 'bad-signature' })
    expect(admit(request({ host: '10.0.0.8' }), pods)).toMatchObject({ reason: 'not-an-anchor-pod' })
  })

  it('parses only requests of the server\'s shape', () => {
    expect(authorizationRequestSchema.safeParse({ nats: { ...request().nats, type: 'user' } }).success).toBe(false)
    expect(authorizationRequestSchema.safeParse({ nats: { ...request().nats, user_nkey: 'UNOTAKEY' } }).success).toBe(false)
    expect(authorizationRequestSchema.safeParse({ nats: { ...request().nats, client_info: { nonce: 'x'.repeat(300) } } }).success).toBe(false)
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
    expect(text).not.toMatch(/SU[A-Z2-7]{50,}|PRIVATE KEY|password/)
  })
})
