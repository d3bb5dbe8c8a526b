import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { IdentityError, loadOrCreateIdentity } from './identity.js'
import { tempDir } from '../temp-dir.fixture.js'

const freshDir = async (): Promise<string> => await tempDir('id')

describe('loadOrCreateIdentity', () => {
  it('creates a 0600 Ed25519 key once and loads the same identity after', async () => {
    const file = join(await freshDir(), 'sub', 'identity.key')
    const first = await loadOrCreateIdentity(file, { create: true })
    const second = await loadOrCreateIdentity(file, { create: true })
    expect(first.created).toBe(true)
    expect(second.created).toBe(false)
    expect(peerIdFromPrivateKey(second.key).equals(peerIdFromPrivateKey(first.key))).toBe(true)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
  })

  it('refuses a missing given key file and a file that is not a key', async () => {
    const dir = await freshDir()
    await expect(loadOrCreateIdentity(join(dir, 'missing.key'), { create: false })).rejects.toThrow(/does not exist/)
    await writeFile(join(dir, 'bad.key'), 'not a key')
    await expect(loadOrCreateIdentity(join(dir, 'bad.key'), { create: false })).rejects.toBeInstanceOf(IdentityError)
  })
})
