import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keyId, signingKeyFromSeed } from '../../fleet-client/src/index.js'
import { TEST_TMPDIR_ENV } from '../setup/temp-root.js'
import type { SigningKey } from '../../fleet-client/src/index.js'

export interface TestOperatorKey {
  /** A PKCS#8 PEM file, as the chart's Secret holds it. */
  readonly file: string
  /** Its PeerId: what anchors are configured to trust (`--coordination-operator-keys`). */
  readonly id: string
  readonly key: SigningKey
}

let shared: TestOperatorKey | undefined

/** The operator key of this test process: one per process, so anchors and operators agree on it. */
export function testOperatorKey (): TestOperatorKey {
  if (shared != null) return shared
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  // In the run's temp dir, which the global setup removes when the run ends (else in /tmp).
  const file = join(mkdtempSync(join(process.env[TEST_TMPDIR_ENV] ?? tmpdir(), 'meganet-operator-key-')), 'operator.pem')
  writeFileSync(file, pem, { mode: 0o600 })
  const seed = Buffer.from(/-----BEGIN PRIVATE KEY-----\n([\s\S]+)\n-----END/.exec(pem)?.[1] ?? '', 'base64').subarray(-32)
  const key = signingKeyFromSeed(seed)
  shared = { file, id: keyId(key), key }
  return shared
}
