import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where test helpers put files that live as long as a test process (MEGANET_TEST_TMPDIR). */
export const TEST_TMPDIR_ENV = 'MEGANET_TEST_TMPDIR'

/**
 * Global setup: one temporary directory for the whole run, which the test workers (forked
 * after global setup) find in their environment, removed when the run ends. Workers are killed,
 * not exited, so a file a worker makes for its lifetime cannot be removed by the worker itself.
 */
export default async function setup (): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'meganet-test-'))
  process.env[TEST_TMPDIR_ENV] = dir
  return async () => { await rm(dir, { recursive: true, force: true }) }
}
