import { describe, expect, it } from 'vitest'
import { anchorFleetSpecSchema } from './anchor-fleet.js'
import { MAX_PEERED_FLEETS, MAX_PEERING_PINS, MAX_PEERING_URL_LENGTH } from './bootstrap-list.js'
import { MAX_PEERING_ERROR_LENGTH, memberRecordSchema } from './coordination.js'
import { structuralSchema } from './openapi.js'
import type { StructuralSchema } from './openapi.js'

const PIN_A = '12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'
const PIN_B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const URL_A = 'https://anchors.north.example/bootstrap'

/** The one message zod gives for a spec, as `path: message`, or undefined when it passes. */
function problem (peering: unknown): string | undefined {
  const parsed = anchorFleetSpecSchema.safeParse({ peering })
  return parsed.success ? undefined : parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('\n')
}

describe('AnchorFleet spec.peering', () => {
  it('takes up to MAX_PEERED_FLEETS fleets, each an http(s) URL with 1..MAX_PEERING_PINS Ed25519 PeerIds', () => {
    expect(problem([{ bootstrapUrl: URL_A, pins: [PIN_A, PIN_B] }, { bootstrapUrl: 'http://10.0.0.7:9464/bootstrap?x=1,2', pins: [PIN_B] }])).toBeUndefined()
    expect(problem([{ bootstrapUrl: 'https://[2001:db8::1]:9464/bootstrap', pins: [PIN_A] }])).toBeUndefined()
    expect(problem([])).toBeUndefined()
    expect(anchorFleetSpecSchema.parse({}).peering).toBeUndefined()
    const many = Array.from({ length: MAX_PEERED_FLEETS + 1 }, (_, i) => ({ bootstrapUrl: `https://f${i}.example/bootstrap`, pins: [PIN_A] }))
    expect(problem(many.slice(0, MAX_PEERED_FLEETS))).toBeUndefined()
    expect(problem(many)).toBe(`peering: at most ${MAX_PEERED_FLEETS} peered fleets`)
    expect(problem([{ bootstrapUrl: URL_A, pins: Array.from({ length: MAX_PEERING_PINS + 1 }, () => PIN_A) }])).toBe(`peering.0.pins: at most ${MAX_PEERING_PINS} pins per peered fleet`)
  })

  it('refuses a bad URL, pin or duplicate with one line saying what to do', () => {
    for (const url of ['ftp://anchors.example/bootstrap', 'anchors.example/bootstrap', 'https://user:secret@anchors.example/bootstrap',
      'https://anchors.example/bootstrap#12D3KooW', 'https://anchors.example/boot strap', 'https:///bootstrap', `https://a.example/${'x'.repeat(MAX_PEERING_URL_LENGTH)}`]) {
      expect(problem([{ bootstrapUrl: url, pins: [PIN_A] }]), url).toMatch(/^peering\.0\.bootstrapUrl: (must be the http\(s\) URL of the peered fleet's bootstrap list|Too big)/)
    }
    expect(problem([{ bootstrapUrl: URL_A, pins: [] }])).toBe('peering.0.pins: pin at least one anchor PeerId (12D3KooW…) of the peered fleet: only a list one of them signed is trusted')
    // An RSA PeerId (Qm…) or a typo: the anchor could not check a signature with it.
    for (const pin of ['QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', PIN_A.slice(0, -1), `${PIN_A}x`]) {
      expect(problem([{ bootstrapUrl: URL_A, pins: [PIN_B, pin] }]), pin).toMatch(/^peering\.0\.pins\.1: must be the PeerId \(12D3KooW…\) of an anchor of the peered fleet/)
    }
    expect(problem([{ bootstrapUrl: URL_A, pins: [PIN_A] }, { bootstrapUrl: URL_A, pins: [PIN_B] }]))
      .toBe('peering: each bootstrapUrl may appear once: list all pins of one fleet in one entry')
  })

  it('gives the CRD the same limits, as bounded CEL rules with the same messages', () => {
    const spec = structuralSchema(anchorFleetSpecSchema)
    const peering = spec.properties?.['peering'] as StructuralSchema
    expect(spec.required ?? []).not.toContain('peering')
    expect(peering).toMatchObject({ type: 'array', maxItems: MAX_PEERED_FLEETS, items: { type: 'object', required: ['bootstrapUrl', 'pins'] } })
    expect(peering['x-kubernetes-validations']?.[0]?.message).toBe('each bootstrapUrl may appear once: list all pins of one fleet in one entry')
    const url = peering.items?.properties?.['bootstrapUrl'] as StructuralSchema
    // Bounded lengths keep the CEL cost estimate within the API server's budget.
    expect(url.maxLength).toBe(MAX_PEERING_URL_LENGTH)
    expect(url.pattern).toBeUndefined()
    expect(url['x-kubernetes-validations']?.[0]?.rule).toMatch(/^isURL\(self\) && self\.matches\('\^https\?:\/\/.*'\)$/)
    const pins = peering.items?.properties?.['pins'] as StructuralSchema
    expect(pins).toMatchObject({ minItems: 1, maxItems: MAX_PEERING_PINS, items: { type: 'string', maxLength: 128 } })
    expect(pins.items?.['x-kubernetes-validations']?.[0]).toMatchObject({
      rule: "self.matches('^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$')",
      message: expect.stringMatching(/^must be the PeerId \(12D3KooW…\)/) as unknown
    })
  })
})

describe('AnchorFleet spec.peeringRefresh', () => {
  const refresh = (peeringRefresh: unknown): string | undefined => {
    const parsed = anchorFleetSpecSchema.safeParse({ peeringRefresh })
    return parsed.success ? undefined : parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('\n')
  }

  it('takes a duration from 10s to 24h, and is absent by default (the anchor\'s own 5m)', () => {
    for (const ok of ['10s', '30s', '5m', '1h30m', '24h', '10000ms']) expect(refresh(ok), ok).toBeUndefined()
    expect(anchorFleetSpecSchema.parse({}).peeringRefresh).toBeUndefined()
  })

  it('refuses a bare number, another unit, too short or too long with one line saying what to give', () => {
    for (const bad of ['300', '5 m', '1d', 'unlimited', '9s', '9999ms', '24h1s', '25h', '']) {
      expect(refresh(bad), bad).toBe('peeringRefresh: must be a duration from 10s to 24h, such as 5m or 1h30m: how often each anchor fetches the peered fleets\' lists again')
    }
  })

  it('gives the CRD the same bounds as one CEL rule', () => {
    const field = structuralSchema(anchorFleetSpecSchema).properties?.['peeringRefresh'] as StructuralSchema
    expect(field).toMatchObject({ type: 'string', maxLength: 32 })
    expect(field['x-kubernetes-validations']?.[0]?.rule).toBe("self.matches('^([0-9]+(ms|s|m|h))+$') && duration(self) >= duration('10s') && duration(self) <= duration('24h')")
  })
})

describe('membership record peering', () => {
  const record = {
    schema: 1, peerId: PIN_A, multiaddrs: [], roles: ['relay'], region: 'local', fleet: 'eu', pod: 'eu-anchor-0', phase: 'serving', version: '1',
    startedAt: 0, updatedAt: 0, heartbeatMs: 1000,
    load: { connectedPeers: 0, reservations: 0, relayedBytesPerSecond: 0, storedBytes: 0, freeDiskBytes: 0, eventLoopLagSeconds: 0 }
  }
  const report = { bootstrapUrl: URL_A, anchors: 3, connected: 2, verifiedAt: 1_700_000_000_000, lastError: null }

  it('is optional, so records of anchors that peer with nobody read as before', () => {
    expect(memberRecordSchema.safeParse(record).success).toBe(true)
    expect(memberRecordSchema.safeParse({ ...record, peering: [report, { ...report, bootstrapUrl: 'https://b.example/bootstrap', verifiedAt: null, lastError: 'HTTP 404' }] }).success).toBe(true)
  })

  it('is bounded: fleets, URL and error length, and no field the contract does not name', () => {
    expect(memberRecordSchema.safeParse({ ...record, peering: Array.from({ length: MAX_PEERED_FLEETS + 1 }, () => report) }).success).toBe(false)
    expect(memberRecordSchema.safeParse({ ...record, peering: [{ ...report, lastError: 'x'.repeat(MAX_PEERING_ERROR_LENGTH + 1) }] }).success).toBe(false)
    expect(memberRecordSchema.safeParse({ ...record, peering: [{ ...report, bootstrapUrl: 'x'.repeat(MAX_PEERING_URL_LENGTH + 1) }] }).success).toBe(false)
    expect(memberRecordSchema.safeParse({ ...record, peering: [{ ...report, pins: [PIN_B] }] }).success).toBe(false)
    expect(memberRecordSchema.safeParse({ ...record, peering: [{ ...report, connected: -1 }] }).success).toBe(false)
  })
})
