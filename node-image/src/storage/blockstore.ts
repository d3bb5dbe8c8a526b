import { randomBytes } from 'node:crypto'
import { open, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_LEASES_PER_BLOCK, leaseSchema } from '@meganet/contracts'
import { z } from 'zod'
import { matchesCid, parseCid } from '../blocks/cid.js'
import { writeAll } from './block-bytes.js'
import type { BlockBytes } from './block-bytes.js'
import type { Lease } from '@meganet/contracts'
import type { CID } from 'multiformats/cid'

export class StoreFullError extends Error {
  override readonly name = 'StoreFullError'
}

/** A block whose bytes no longer hash to its CID (bit rot, a bad disk, tampering). */
export class CorruptBlockError extends Error {
  override readonly name = 'CorruptBlockError'
}

/** A block already carries leases from as many owners as it may. */
export class LeaseLimitError extends Error {
  override readonly name = 'LeaseLimitError'
}

export interface BlockInfo {
  readonly size: number
  /** Who keeps the block, until when (a block with a live lease is pinned). */
  readonly leases: readonly Lease[]
  /** When the block was last written or referenced (ms since the epoch; its file's mtime). */
  readonly referencedAt: number
}

export interface BlockstoreOptions {
  /**
   * Owner and lifetime given to pins written before pins were leases (empty files in `pins/`):
   * they become leases of this anchor that run out unless their owners pin again.
   */
  readonly legacyOwner?: string
  readonly legacyLeaseMs?: number
}

const leaseFileSchema = z.array(leaseSchema).max(MAX_LEASES_PER_BLOCK)

/** True when some lease on the block runs past `now`. */
export function isPinned (info: BlockInfo | undefined, now = Date.now()): boolean {
  return info?.leases.some(lease => lease.expiresAt > now) === true
}

/**
 * A filesystem blockstore: one file per block under `blocks/<shard>/<cid>`. A block is written
 * to `tmp/`, flushed, and renamed into place, so after a crash it is either whole or absent;
 * leftovers in `tmp/` are removed at open. Reads are checked against the CID. The file's mtime
 * records when the block was last written or referenced (see {@link touch}), which garbage
 * collection reads; the index keeps a copy, so repair rounds need no `stat` per block. A block's
 * leases (owner, expiry) sit in `pins/<cid>` as JSON.
 */
export class Blockstore {
  private readonly root: string
  private readonly capacity: number
  private readonly index = new Map<string, BlockInfo>()
  private used = 0
  /** Writes under way, so two puts of one block write it once. */
  private readonly writing = new Map<string, Promise<void>>()

  private readonly options: BlockstoreOptions
  private leaseTotal = 0

  private constructor (root: string, capacity: number, options: BlockstoreOptions) {
    this.root = root
    this.capacity = capacity
    this.options = options
  }

  static async open (dataDir: string, capacityBytes: number, options: BlockstoreOptions = {}): Promise<Blockstore> {
    const store = new Blockstore(join(dataDir, 'store'), capacityBytes, options)
    await store.load()
    return store
  }

  /** Leases held on all blocks (live or not yet swept). */
  get leaseCount (): number { return this.leaseTotal }

  get usedBytes (): number { return this.used }
  get capacityBytes (): number { return this.capacity }
  get blockCount (): number { return this.index.size }

  has (cid: CID): boolean {
    return this.index.has(cid.toString())
  }

  info (cid: CID): BlockInfo | undefined {
    return this.index.get(cid.toString())
  }

  /** Every stored CID (a snapshot). */
  cids (): CID[] {
    return [...this.index.keys()].map(text => parseCid(text))
  }

  /** Stores a block the caller has verified against its CID. Idempotent; `leases` are merged in (the later expiry wins). */
  async put (cid: CID, bytes: BlockBytes, leases: readonly Lease[] = []): Promise<void> {
    const key = cid.toString()
    const pending = this.writing.get(key)
    if (pending != null) await pending.catch(() => {})
    const write = this.write(cid, key, bytes, leases)
    this.writing.set(key, write)
    try {
      await write
    } finally {
      if (this.writing.get(key) === write) this.writing.delete(key)
    }
  }

  private async write (cid: CID, key: string, bytes: BlockBytes, leases: readonly Lease[]): Promise<void> {
    const existing = this.index.get(key)
    if (existing != null) {
      const merged = mergeLeases(existing.leases, leases)
      if (merged.some((lease, i) => existing.leases[i] !== lease) || merged.length !== existing.leases.length) {
        await this.writeLeases(key, merged)
        this.leaseTotal += merged.length - existing.leases.length
        this.index.set(key, { ...existing, leases: merged })
      }
      await this.touch(cid)
      return
    }
    const merged = mergeLeases([], leases)
    if (this.used + bytes.byteLength > this.capacity) {
      throw new StoreFullError(`store full: ${this.used} of ${this.capacity} bytes used, block needs ${bytes.byteLength}`)
    }
    // Reserve the space before the first await so concurrent puts cannot overshoot.
    this.used += bytes.byteLength
    try {
      const temporary = join(this.root, 'tmp', `${key}.${randomBytes(6).toString('hex')}`)
      const handle = await open(temporary, 'wx', 0o600)
      try {
        await writeAll(handle, bytes)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await mkdir(this.shardDir(key), { recursive: true })
      await rename(temporary, this.blockPath(key))
      await this.syncDir(this.shardDir(key))
    } catch (err) {
      this.used -= bytes.byteLength
      throw err
    }
    if (merged.length > 0) await this.writeLeases(key, merged)
    this.index.set(key, { size: bytes.byteLength, leases: merged, referencedAt: Date.now() })
    this.leaseTotal += merged.length
  }

  /** Reads a block and checks it; a corrupt one is removed so repair can restore it. */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    const key = cid.toString()
    if (!this.index.has(key)) return undefined
    let bytes: Uint8Array
    try {
      bytes = await readFile(this.blockPath(key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') { this.forget(key); return undefined }
      throw err
    }
    if (!(await matchesCid(cid, bytes))) {
      await this.delete(cid)
      throw new CorruptBlockError(`block ${key} is corrupt on disk (its bytes do not match its CID); removed`)
    }
    return bytes
  }

  async delete (cid: CID): Promise<void> {
    const key = cid.toString()
    await rm(this.blockPath(key), { force: true })
    await rm(join(this.root, 'pins', key), { force: true })
    this.forget(key)
  }

  /**
   * Sets `lease.owner`'s lease on a stored block (its expiry replaced; 0 or a past time releases
   * it). False when the block is not here. Throws {@link LeaseLimitError} past the owners a block may have.
   */
  async setLease (cid: CID, lease: Lease, now = Date.now()): Promise<boolean> {
    const key = cid.toString()
    const info = this.index.get(key)
    if (info == null) return false
    const others = info.leases.filter(l => l.owner !== lease.owner && l.expiresAt > now)
    const leases = lease.expiresAt > now ? [...others, lease] : others
    if (leases.length > MAX_LEASES_PER_BLOCK) throw new LeaseLimitError(`block ${key} already has ${MAX_LEASES_PER_BLOCK} owners`)
    await this.writeLeases(key, leases)
    this.leaseTotal += leases.length - info.leases.length
    this.index.set(key, { ...info, leases })
    return true
  }

  /**
   * Marks a block as referenced `at` (now unless given; garbage collection keeps recently
   * referenced blocks). A block that is not there is fine; any other failure (EACCES, EROFS, EIO)
   * is thrown, since a block silently left unmarked could be collected while still referenced.
   */
  async touch (cid: CID, at = new Date()): Promise<void> {
    const key = cid.toString()
    try {
      await utimes(this.blockPath(key), at, at)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      return
    }
    const info = this.index.get(key)
    if (info != null) this.index.set(key, { ...info, referencedAt: at.getTime() })
  }

  /** When the block was last written or referenced; undefined when it is not here. */
  lastReferenced (cid: CID): number | undefined {
    return this.index.get(cid.toString())?.referencedAt
  }

  private forget (key: string): void {
    const info = this.index.get(key)
    if (info == null) return
    this.used -= info.size
    this.leaseTotal -= info.leases.length
    this.index.delete(key)
  }

  private async load (): Promise<void> {
    await mkdir(join(this.root, 'blocks'), { recursive: true })
    await mkdir(join(this.root, 'pins'), { recursive: true })
    // Half-written blocks from a crash never became visible; drop them.
    await rm(join(this.root, 'tmp'), { recursive: true, force: true })
    await mkdir(join(this.root, 'tmp'), { recursive: true })
    const pins = new Set(await readdir(join(this.root, 'pins')))
    for (const shard of await readdir(join(this.root, 'blocks'))) {
      for (const name of await readdir(join(this.root, 'blocks', shard))) {
        const { size, mtimeMs } = await stat(join(this.root, 'blocks', shard, name))
        const leases = pins.has(name) ? await this.readLeases(name) : []
        this.index.set(name, { size, leases, referencedAt: mtimeMs })
        this.used += size
        this.leaseTotal += leases.length
      }
    }
  }

  private async readLeases (key: string): Promise<Lease[]> {
    const text = await readFile(join(this.root, 'pins', key), 'utf8').catch(() => '')
    if (text.trim() === '') {
      // A pin from before leases: keep the block a while longer under this anchor's name.
      const { legacyOwner, legacyLeaseMs } = this.options
      return legacyOwner != null && legacyLeaseMs != null ? [{ owner: legacyOwner, expiresAt: Date.now() + legacyLeaseMs }] : []
    }
    try {
      return leaseFileSchema.parse(JSON.parse(text))
    } catch {
      return []
    }
  }

  private shardDir (key: string): string {
    return join(this.root, 'blocks', key.slice(-2))
  }

  private blockPath (key: string): string {
    return join(this.shardDir(key), key)
  }

  private async writeLeases (key: string, leases: readonly Lease[]): Promise<void> {
    const file = join(this.root, 'pins', key)
    if (leases.length === 0) { await rm(file, { force: true }); return }
    const temporary = join(this.root, 'tmp', `${key}.leases.${randomBytes(6).toString('hex')}`)
    await writeFile(temporary, JSON.stringify(leases), { mode: 0o600 })
    await rename(temporary, file)
  }

  private async syncDir (dir: string): Promise<void> {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
}

/**
 * Leases by owner, the later expiry winning. Copies that disagreed (puts through different
 * anchors) can together name more owners than a block keeps: expired leases go first, then
 * those ending soonest, so what is kept does not depend on which copy arrived first.
 */
export function mergeLeases (current: readonly Lease[], added: readonly Lease[], now = Date.now()): Lease[] {
  const byOwner = new Map(current.map(lease => [lease.owner, lease]))
  for (const lease of added) {
    const held = byOwner.get(lease.owner)
    if (held == null || held.expiresAt < lease.expiresAt) byOwner.set(lease.owner, lease)
  }
  const leases = [...byOwner.values()]
  if (leases.length <= MAX_LEASES_PER_BLOCK) return leases
  return leases.filter(lease => lease.expiresAt > now).sort((a, b) => b.expiresAt - a.expiresAt).slice(0, MAX_LEASES_PER_BLOCK)
}
