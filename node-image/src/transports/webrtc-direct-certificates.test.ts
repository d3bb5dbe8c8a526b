import 'reflect-metadata'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from '@peculiar/x509'
import { afterAll, describe, expect, it } from 'vitest'
import { certhashOf, createCertificate, loadCertificates, planRotation, saveCertificates } from './webrtc-direct-certificates.js'
import type { WebRTCDirectCertificate } from './webrtc-direct-certificates.js'

const DAY = 24 * 60 * 60 * 1000
const settings = { lifetimeMs: 30 * DAY, overlapMs: 7 * DAY }

function fake (generation: number, notBefore: number, lifetime = settings.lifetimeMs): WebRTCDirectCertificate {
  return { generation, certificatePem: 'x', privateKeyPem: 'y', certhash: `u${generation}`, notBefore, notAfter: notBefore + lifetime }
}

describe('WebRTC-direct certificate rotation', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true }))) })

  it('makes a self-signed P-256 certificate whose certhash is the sha2-256 of its DER bytes', async () => {
    const now = Date.now()
    const cert = await createCertificate(1, now, settings.lifetimeMs)
    const x509 = new X509Certificate(cert.certificatePem)
    expect(x509.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' })
    expect(cert.certhash).toBe(await certhashOf(new Uint8Array(x509.rawData)))
    expect(cert.certhash.startsWith('u')).toBe(true)
    expect(cert.notAfter - cert.notBefore).toBeGreaterThan(settings.lifetimeMs - 2000)
    expect(cert.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
  })

  it('creates the first certificate when there is none', () => {
    expect(planRotation([], 1000, settings)).toMatchObject({ keep: [], create: 1 })
  })

  it('serves one certificate until its overlap, then makes the next and serves both', () => {
    const first = fake(1, 0)
    const quiet = planRotation([first], 10 * DAY, settings)
    expect(quiet).toEqual({ keep: [first], nextCheckAt: 23 * DAY })
    expect(planRotation([first], 23 * DAY, settings)).toMatchObject({ keep: [first], create: 2 })
    const second = fake(2, 23 * DAY)
    const overlap = planRotation([first, second], 23 * DAY + 1, settings)
    expect(overlap.keep).toEqual([first, second])
    expect(overlap.create).toBeUndefined()
    expect(overlap.nextCheckAt).toBe(30 * DAY) // the first retires
  })

  it('retires a certificate once it expires', () => {
    const first = fake(1, 0)
    const second = fake(2, 23 * DAY)
    expect(planRotation([first, second], 30 * DAY, settings)).toEqual({ keep: [second], nextCheckAt: 46 * DAY })
  })

  it('starts over when every stored certificate expired while the anchor was down', () => {
    expect(planRotation([fake(1, 0), fake(2, 23 * DAY)], 100 * DAY, settings)).toMatchObject({ keep: [], create: 3 })
  })

  it('keeps certificates across a save and load, and names a corrupt file with what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meganet-certs-'))
    dirs.push(dir)
    const file = join(dir, 'webrtc-direct', 'certificates.json')
    expect(await loadCertificates(file)).toEqual([])
    const cert = await createCertificate(1, Date.now(), settings.lifetimeMs)
    await saveCertificates(file, [cert])
    expect(await loadCertificates(file)).toEqual([cert])
    await writeFile(file, '{"schema":1,"certificates":"nope"}')
    await expect(loadCertificates(file)).rejects.toThrow(/move it away/)
  })
})
