import type { BlockTransport } from './block-transport.js'
import type { CID } from 'multiformats/cid'

export class BlockNotFoundError extends Error {
  override readonly name = 'BlockNotFoundError'
}

/** Blocks in a Map: for tests, and for apps that exercise file transfer offline. */
export class MemoryBlockTransport implements BlockTransport {
  /** Keyed by CID text. */
  readonly blocks = new Map<string, Uint8Array>()
  readonly pinned = new Set<string>()

  put (cid: CID, bytes: Uint8Array, options: { pin: boolean }): Promise<void> {
    const key = cid.toString()
    this.blocks.set(key, bytes.slice())
    if (options.pin) this.pinned.add(key)
    return Promise.resolve()
  }

  get (cid: CID): Promise<Uint8Array> {
    const bytes = this.blocks.get(cid.toString())
    if (bytes == null) return Promise.reject(new BlockNotFoundError(`block ${cid.toString()} not found`))
    return Promise.resolve(bytes.slice())
  }
}
