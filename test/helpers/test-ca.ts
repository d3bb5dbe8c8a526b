import 'reflect-metadata'
import { createHash, createPublicKey, webcrypto } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  BasicConstraintsExtension, ExtendedKeyUsage, ExtendedKeyUsageExtension, KeyUsageFlags, KeyUsagesExtension, SubjectAlternativeNameExtension,
  X509CertificateGenerator
} from '@peculiar/x509'

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

function pem (label: string, der: ArrayBuffer): string {
  return [`-----BEGIN ${label}-----`, ...(Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? []), `-----END ${label}-----`, ''].join('\n')
}

export interface TestCertificate {
  readonly certFile: string
  readonly keyFile: string
  /** The leaf's certificate in PEM (without the CA). */
  readonly certificatePem: string
  /** base64 SHA-256 of the leaf's SubjectPublicKeyInfo: what Chromium's --ignore-certificate-errors-spki-list takes. */
  readonly spkiHash: string
  /** `openssl x509 -fingerprint -sha256` style, as Node's X509Certificate.fingerprint256 prints it. */
  readonly fingerprint: string
}

/** A test CA and a server certificate it signed for `ip` (and `name`), written as PEM files into `dir`. */
export async function makeTestCertificate (dir: string, ip: string, prefix = 'wss', name = 'anchor.meganet.test'): Promise<TestCertificate> {
  const now = Date.now()
  const notBefore = new Date(now - 60_000)
  const notAfter = new Date(now + 24 * 60 * 60 * 1000)
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const ca = await X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=MegaNet test CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [new BasicConstraintsExtension(true, 0, true), new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true)]
  }, webcrypto)
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const leaf = await X509CertificateGenerator.create({
    serialNumber: String(now % 1_000_000 + 2),
    subject: `CN=${name}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new SubjectAlternativeNameExtension([{ type: 'ip', value: ip }, { type: 'dns', value: name }]),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
      new BasicConstraintsExtension(false)
    ]
  }, webcrypto)
  const certificatePem = leaf.toString('pem')
  const certFile = join(dir, `${prefix}.crt`)
  const keyFile = join(dir, `${prefix}.key`)
  await writeFile(certFile, `${certificatePem}\n${ca.toString('pem')}\n`)
  await writeFile(keyFile, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 })
  const spki = createPublicKey(certificatePem).export({ type: 'spki', format: 'der' })
  const { X509Certificate } = await import('node:crypto')
  return { certFile, keyFile, certificatePem, spkiHash: createHash('sha256').update(spki).digest('base64'), fingerprint: new X509Certificate(certificatePem).fingerprint256 }
}
