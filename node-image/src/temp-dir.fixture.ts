import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'

/** A fresh directory under the system's temp dir, removed when the test that made it ends. */
export async function tempDir (prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `meganet-${prefix}-`))
  onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}
