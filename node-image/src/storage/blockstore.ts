import { randomBytes } from 'node:crypto'
import { open, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { matchesCid, parseCid } from '../blocks/cid.js'
import type { CID } from 'multiformats/cid'

export class StoreFullError extends Error {
  override readonly name = 'StoreFullError'
}

/** A block whose bytes no longer hash to its CID (bit rot, a bad disk, tampering). */
export class CorruptBlockError extends Error {
  override readonly name = 'CorruptBlockError'
}

export interface BlockInfo {
  readonly size: number
  readonly pinned: boolean
}

/**
 * A filesystem blockstore: one file per block under `blocks/<shard>/<cid>`. A block is written
 * to `tmp/`, flushed, and renamed into place, so after a crash it is either whole or absent;
 * leftovers in `tmp/` are removed at open. Reads are checked against the CID. The file's mtime
 * records when the block was last written or referenced (see {@link touch}), which garbage
 * collection reads.
 */
export class Blockstore {
  private readonly root: string
  private readonly capacity: number
  private readonly index = new Map<string, BlockInfo>()
  private used = 0
  /** Writes under way, so two puts of one block write it once. */
  private readonly writing = new Map<string, Promise<void>>()

  private constructor (root: string, capacity: number) {
    this.root = root
    this.capacity = capacity
  }

  static async open (dataDir: string, capacityBytes: number): Promise<Blockstore> {
    const store = new Blockstore(join(dataDir, 'store'), capacityBytes)
    await store.load()
    return store
  }

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

  /** Stores a block the caller has verified against its CID. Idempotent; `pin` only adds. */
  async put (cid: CID, bytes: Uint8Array, pin = false): Promise<void> {
    const key = cid.toString()
    const pending = this.writing.get(key)
    if (pending != null) await pending.catch(() => {})
    const write = this.write(cid, key, bytes, pin)
    this.writing.set(key, write)
    try {
      await write
    } finally {
      if (this.writing.get(key) === write) this.writing.delete(key)
    }
  }

  private async write (cid: CID, key: string, bytes: Uint8Array, pin: boolean): Promise<void> {
    const existing = this.index.get(key)
    if (existing != null) {
      if (pin && !existing.pinned) await this.pin(cid)
      await this.touch(cid)
      return
    }
    if (this.used + bytes.byteLength > this.capacity) {
      throw new StoreFullError(`store full: ${this.used} of ${this.capacity} bytes used, block needs ${bytes.byteLength}`)
    }
    // Reserve the space before the first await so concurrent puts cannot overshoot.
    this.used += bytes.byteLength
    try {
      const temporary = join(this.root, 'tmp', `${key}.${randomBytes(6).toString('hex')}`)
      const handle = await open(temporary, 'wx', 0o600)
      try {
        await handle.writeFile(bytes)
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
    if (pin) await this.writePin(key)
    this.index.set(key, { size: bytes.byteLength, pinned: pin })
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

  async pin (cid: CID): Promise<void> {
    const key = cid.toString()
    const info = this.index.get(key)
    if (info == null || info.pinned) return
    await this.writePin(key)
    this.index.set(key, { ...info, pinned: true })
  }

  /** Marks a block as referenced now (garbage collection keeps recently referenced blocks). */
  async touch (cid: CID): Promise<void> {
    const now = new Date()
    await utimes(this.blockPath(cid.toString()), now, now).catch(() => {})
  }

  /** When the block was last written or referenced. */
  async lastReferenced (cid: CID): Promise<number | undefined> {
    try {
      return (await stat(this.blockPath(cid.toString()))).mtimeMs
    } catch {
      return undefined
    }
  }

  private forget (key: string): void {
    const info = this.index.get(key)
    if (info == null) return
    this.used -= info.size
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
        const size = (await stat(join(this.root, 'blocks', shard, name))).size
        this.index.set(name, { size, pinned: pins.has(name) })
        this.used += size
      }
    }
  }

  private shardDir (key: string): string {
    return join(this.root, 'blocks', key.slice(-2))
  }

  private blockPath (key: string): string {
    return join(this.shardDir(key), key)
  }

  private async writePin (key: string): Promise<void> {
    await writeFile(join(this.root, 'pins', key), '')
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
