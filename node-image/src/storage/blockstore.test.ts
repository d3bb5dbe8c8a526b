import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { tempDir } from '../temp-dir.fixture.js'
import { MAX_LEASES_PER_BLOCK } from '@meganet/contracts'
import { Blockstore, CorruptBlockError, LeaseLimitError, StoreFullError, isPinned, mergeLeases } from './blockstore.js'

const OWNER = '12D3KooWDRsvLPCedceFv8xok38fvkNDZDtsfWjhiqGpPkr1GvGk'

const freshDir = async (): Promise<string> => await tempDir('blockstore')

describe('Blockstore', () => {
  it('stores, reads back, survives a reopen and keeps leases', async () => {
    const dir = await freshDir()
    const store = await Blockstore.open(dir, 1024 * 1024)
    const bytes = randomBytes(1000)
    const cid = await cidOf(bytes, 'raw')
    const lease = { owner: OWNER, expiresAt: Date.now() + 60_000 }
    await store.put(cid, bytes, [lease])
    await store.put(cid, bytes)
    expect(store.usedBytes).toBe(1000)
    const reopened = await Blockstore.open(dir, 1024 * 1024)
    expect(reopened.has(cid)).toBe(true)
    expect(reopened.info(cid)).toMatchObject({ size: 1000, leases: [lease] })
    expect(isPinned(reopened.info(cid))).toBe(true)
    expect(reopened.leaseCount).toBe(1)
    expect(Buffer.from((await reopened.get(cid))!).equals(bytes)).toBe(true)
  })

  it('keeps when a block was last referenced in its file, across a reopen, and ignores a touch of a missing block', async () => {
    const dir = await freshDir()
    const store = await Blockstore.open(dir, 1024 * 1024)
    const bytes = randomBytes(100)
    const cid = await cidOf(bytes, 'raw')
    const before = Date.now()
    await store.put(cid, bytes)
    expect(store.lastReferenced(cid)).toBeGreaterThanOrEqual(before)
    const old = new Date(Date.now() - 3_600_000)
    await store.touch(cid, old)
    expect(store.lastReferenced(cid)).toBe(old.getTime())
    expect((await Blockstore.open(dir, 1024 * 1024)).lastReferenced(cid)).toBeCloseTo(old.getTime(), -1)
    // A put of a block already here references it again.
    await store.put(cid, bytes)
    expect(store.lastReferenced(cid)).toBeGreaterThanOrEqual(before)

    const missing = await cidOf(randomBytes(10), 'raw')
    await store.touch(missing)
    expect(store.lastReferenced(missing)).toBeUndefined()
  })

  it('keeps the later expiry of an owner\'s lease, releases it, and caps owners per block', async () => {
    const store = await Blockstore.open(await freshDir(), 1024 * 1024)
    const bytes = randomBytes(100)
    const cid = await cidOf(bytes, 'raw')
    const now = Date.now()
    await store.put(cid, bytes, [{ owner: OWNER, expiresAt: now + 60_000 }])
    await store.put(cid, bytes, [{ owner: OWNER, expiresAt: now + 1_000 }])
    expect(store.info(cid)?.leases).toEqual([{ owner: OWNER, expiresAt: now + 60_000 }])
    expect(await store.setLease(cid, { owner: OWNER, expiresAt: 0 })).toBe(true)
    expect(isPinned(store.info(cid))).toBe(false)
    expect(store.leaseCount).toBe(0)
    for (let i = 0; i < MAX_LEASES_PER_BLOCK; i++) await store.setLease(cid, { owner: `${OWNER.slice(0, -2)}${String(i).padStart(2, 'A')}`, expiresAt: now + 60_000 })
    await expect(store.setLease(cid, { owner: OWNER, expiresAt: now + 60_000 })).rejects.toThrow(LeaseLimitError)
    expect(await store.setLease(await cidOf(randomBytes(5), 'raw'), { owner: OWNER, expiresAt: now + 60_000 })).toBe(false)
  })

  it('turns a pin from before leases into a lease of this anchor that runs out', async () => {
    const dir = await freshDir()
    const store = await Blockstore.open(dir, 1024 * 1024)
    const bytes = randomBytes(100)
    const cid = await cidOf(bytes, 'raw')
    await store.put(cid, bytes)
    await writeFile(join(dir, 'store', 'pins', cid.toString()), '')
    const reopened = await Blockstore.open(dir, 1024 * 1024, { legacyOwner: OWNER, legacyLeaseMs: 60_000 })
    expect(reopened.info(cid)?.leases[0]?.owner).toBe(OWNER)
    expect(isPinned(reopened.info(cid), Date.now() + 61_000)).toBe(false)
  })

  it('writes a block once when two puts race', async () => {
    const store = await Blockstore.open(await freshDir(), 1024 * 1024)
    const bytes = randomBytes(4096)
    const cid = await cidOf(bytes, 'raw')
    await Promise.all([store.put(cid, bytes), store.put(cid, bytes), store.put(cid, bytes)])
    expect(store.usedBytes).toBe(4096)
    expect(store.blockCount).toBe(1)
  })

  it('refuses a put past capacity with a clear error', async () => {
    const store = await Blockstore.open(await freshDir(), 1500)
    const first = randomBytes(1000)
    await store.put(await cidOf(first, 'raw'), first)
    const second = randomBytes(1000)
    await expect(store.put(await cidOf(second, 'raw'), second)).rejects.toThrow(StoreFullError)
    await expect(store.put(await cidOf(second, 'raw'), second)).rejects.toThrow(/store full: 1000 of 1500 bytes used, block needs 1000/)
  })

  it('detects a corrupt block on read and removes it', async () => {
    const dir = await freshDir()
    const store = await Blockstore.open(dir, 1024 * 1024)
    const bytes = randomBytes(500)
    const cid = await cidOf(bytes, 'raw')
    await store.put(cid, bytes)
    await writeFile(join(dir, 'store', 'blocks', cid.toString().slice(-2), cid.toString()), randomBytes(500))
    await expect(store.get(cid)).rejects.toThrow(CorruptBlockError)
    expect(store.has(cid)).toBe(false)
    expect(store.usedBytes).toBe(0)
  })

  it('leaves no partial block after a crash in the middle of a write', async () => {
    const dir = await freshDir()
    // A child process writes a 64 MiB block and is killed with SIGKILL while it writes.
    const script = `
      import { Blockstore } from ${JSON.stringify(new URL('../../dist/storage/blockstore.js', import.meta.url).pathname)}
      import { cidOf } from ${JSON.stringify(new URL('../../dist/blocks/cid.js', import.meta.url).pathname)}
      const bytes = new Uint8Array(64 * 1024 * 1024).fill(7)
      const cid = await cidOf(bytes, 'raw')
      const store = await Blockstore.open(${JSON.stringify(dir)}, 1024 ** 3)
      process.stdout.write(cid.toString() + '\\n')
      for (;;) { await store.put(cid, bytes); await store.delete(cid) }
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const cidText = await new Promise<string>(resolve => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())))
    // Kill it while a temporary file exists, that is while a write is under way.
    const tmp = join(dir, 'store', 'tmp')
    for (let i = 0; i < 500 && (await readdir(tmp).catch(() => [])).length === 0; i++) await new Promise(resolve => setTimeout(resolve, 5))
    child.kill('SIGKILL')
    await new Promise(resolve => child.once('exit', resolve))

    const store = await Blockstore.open(dir, 1024 ** 3)
    expect(await readdir(tmp)).toEqual([])
    for (const cid of store.cids()) {
      // Whatever is visible is whole: it reads back and matches its CID.
      expect(cid.toString()).toBe(cidText)
      expect((await store.get(cid))?.byteLength).toBe(64 * 1024 * 1024)
    }
  })
})

describe('mergeLeases', () => {
  const lease = (owner: number, expiresAt: number): { owner: string, expiresAt: number } => ({ owner: `peer-${owner}`, expiresAt })

  it('keeps the later expiry per owner', () => {
    expect(mergeLeases([lease(1, 100), lease(2, 300)], [lease(1, 200), lease(2, 250)], 0)).toEqual([lease(1, 200), lease(2, 300)])
  })

  it('over the per-block limit, drops expired leases and then those ending soonest, whichever copy arrived first', () => {
    const now = 1_000
    const current = Array.from({ length: MAX_LEASES_PER_BLOCK }, (_, i) => lease(i, i === 0 ? now - 1 : now + 10 + i))
    const added = [lease(100, now + 5), lease(101, now + 10_000)]
    const kept = mergeLeases(current, added, now)
    expect(kept).toHaveLength(MAX_LEASES_PER_BLOCK)
    expect(kept.map(l => l.owner)).toContain('peer-101')
    expect(kept.map(l => l.owner)).not.toContain('peer-0')
    expect(kept.map(l => l.owner)).not.toContain('peer-100')
    expect(new Set(mergeLeases(added, current, now).map(l => l.owner))).toEqual(new Set(kept.map(l => l.owner)))
  })
})
