// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata'
import { randomBytes, webcrypto } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { BasicConstraintsExtension, X509Certificate, X509CertificateGenerator } from '@peculiar/x509'
import { base64url } from 'multiformats/bases/base64'
import { sha256 } from 'multiformats/hashes/sha2'
import { z } from 'zod'

/**
 * The self-signed ECDSA P-256 certificates of an anchor's WebRTC-direct listener, kept in its
 * data dir so the `/certhash/` in its multiaddrs (and so in every bootstrap list that names it)
 * survives restarts.
 *
 * Rotation: each certificate lives `lifetime`. When the newest has `overlap` or less left, the
 * next one is made; both are served (on the two UDP ports, which take turns: generation g on
 * slot g % 2) and both announced until the older one expires and is retired.
 */

export interface WebRTCDirectCertificate {
  /** 1, 2, 3…: which of the two slots (UDP ports) it is served on is `generation % 2`. */
  readonly generation: number
  readonly certificatePem: string
  readonly privateKeyPem: string
  /** multibase base64url of the sha2-256 multihash of the DER certificate, as in `/certhash/`. */
  readonly certhash: string
  readonly notBefore: number
  readonly notAfter: number
}

export interface RotationSettings {
  /** How long each certificate is valid. */
  readonly lifetimeMs: number
  /** How long before the current one expires the next one is made and announced beside it. */
  readonly overlapMs: number
}

export class CertificateStoreError extends Error {
  override readonly name = 'CertificateStoreError'
}

const fileSchema = z.strictObject({
  schema: z.literal(1),
  certificates: z.array(z.strictObject({
    generation: z.number().int().min(1),
    certificatePem: z.string().min(1).max(16_384),
    privateKeyPem: z.string().min(1).max(16_384),
    certhash: z.string().regex(/^u[A-Za-z0-9_-]+$/),
    notBefore: z.number().int(),
    notAfter: z.number().int()
  })).max(8)
})

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING_ALGORITHM = { ...KEY_ALGORITHM, hash: 'SHA-256' } as const

function pem (label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? []
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join('\n')
}

/** The `/certhash/` value of a DER certificate. */
export async function certhashOf (der: Uint8Array): Promise<string> {
  return base64url.encode((await sha256.digest(der)).bytes)
}

/** A new self-signed certificate valid from `now` for `lifetimeMs`. */
export async function createCertificate (generation: number, now: number, lifetimeMs: number): Promise<WebRTCDirectCertificate> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])
  // Whole seconds: X.509 times have no milliseconds.
  const notBefore = new Date(Math.floor(now / 1000) * 1000)
  const notAfter = new Date(Math.floor((now + lifetimeMs) / 1000) * 1000)
  const certificate = await X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=meganet-anchor-webrtc-direct',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [new BasicConstraintsExtension(false, undefined, true)]
  }, webcrypto)
  return {
    generation,
    certificatePem: certificate.toString('pem'),
    privateKeyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    certhash: await certhashOf(new Uint8Array(certificate.rawData)),
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime()
  }
}

export interface RotationPlan {
  /** Certificates to serve and announce now, oldest first (at most two). */
  readonly keep: readonly WebRTCDirectCertificate[]
  /** Make this generation now (nothing valid, or the newest is within its overlap). */
  readonly create?: number
  /** When to look again: the next retirement or the next creation. */
  readonly nextCheckAt: number
}

/** What to serve at `now`: a pure function of the stored certificates and the settings. */
export function planRotation (stored: readonly WebRTCDirectCertificate[], now: number, settings: RotationSettings): RotationPlan {
  const valid = stored.filter(c => c.notAfter > now && c.notBefore <= now + 60_000).sort((a, b) => a.generation - b.generation)
  const keep = valid.slice(-2)
  const newest = keep[keep.length - 1]
  const lastGeneration = Math.max(0, ...stored.map(c => c.generation))
  if (newest == null || newest.notAfter - now <= settings.overlapMs) {
    // The newest is in its overlap: the one before it (if any) is retired once the new one exists.
    const keepOld = newest == null ? [] : [newest]
    return { keep: keepOld, create: lastGeneration + 1, nextCheckAt: now }
  }
  const retireAt = keep.length > 1 ? (keep[0] as WebRTCDirectCertificate).notAfter : Number.POSITIVE_INFINITY
  return { keep, nextCheckAt: Math.min(retireAt, newest.notAfter - settings.overlapMs) }
}

/** Reads the stored certificates; a missing file is none, a corrupt one an error that says what to do. */
export async function loadCertificates (file: string): Promise<WebRTCDirectCertificate[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new CertificateStoreError(`cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  let parsed: z.infer<typeof fileSchema>
  try {
    parsed = fileSchema.parse(JSON.parse(text))
  } catch (err) {
    throw new CertificateStoreError(`${file} is not a WebRTC-direct certificate file; move it away and the anchor makes a new certificate (its certhash changes)`, { cause: err })
  }
  for (const entry of parsed.certificates) {
    const der = new Uint8Array(new X509Certificate(entry.certificatePem).rawData)
    if (await certhashOf(der) !== entry.certhash) throw new CertificateStoreError(`${file}: the certhash of generation ${entry.generation} does not match its certificate`)
  }
  return parsed.certificates
}

/** Writes the certificates atomically, readable by the owner only (they hold private keys). */
export async function saveCertificates (file: string, certificates: readonly WebRTCDirectCertificate[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(temp, JSON.stringify({ schema: 1, certificates }, null, 2), { mode: 0o600 })
  await rename(temp, file)
}
