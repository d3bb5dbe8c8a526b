import { CID_CODECS } from '@meganet/contracts'
import type { Logger } from '../logging/logger.js'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * Whether a stored block is announced in the DHT: manifests only (a file's root, as Kubo's
 * "roots" strategy). Whoever finds a manifest's providers gets its chunks from the same fleet
 * (any anchor serves any block of its fleet), so announcing every chunk from each of its R
 * holders cost a DHT walk per megabyte stored and bought nothing; DHT servers would not keep
 * that many records per provider anyway.
 */
export function isAnnounced (cid: CID): boolean {
  return cid.code === CID_CODECS.json
}

/** How long one DHT provide may take before the queue moves on. */
export const PROVIDE_TIMEOUT_MS = 30_000

export interface ProvideQueueComponents {
  readonly contentRouting: { provide: (cid: CID, options?: AbortOptions) => Promise<void> }
  readonly log: Logger
}

/**
 * Announces stored blocks as DHT provider records, one at a time in the background, so a burst
 * of uploads does not start thousands of DHT walks at once. A failed announce is only logged:
 * the block is served whatever happens, and repair rounds announce nothing twice.
 */
export class ProvideQueue {
  private readonly components: ProvideQueueComponents
  private readonly queue: CID[] = []
  private readonly controller = new AbortController()
  private running?: Promise<void>

  constructor (components: ProvideQueueComponents) {
    this.components = components
  }

  /** Blocks waiting to be announced (the one being announced not included). */
  get length (): number {
    return this.queue.length
  }

  push (cid: CID): void {
    if (this.controller.signal.aborted) return
    this.queue.push(cid)
    this.running ??= this.drain().finally(() => { this.running = undefined })
  }

  /** Drops what is queued and aborts the announce in flight; resolves once it has ended. */
  async stop (): Promise<void> {
    this.queue.length = 0
    this.controller.abort()
    await this.running
  }

  private async drain (): Promise<void> {
    for (let next = this.queue.shift(); next != null && !this.controller.signal.aborted; next = this.queue.shift()) {
      try {
        const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(PROVIDE_TIMEOUT_MS)])
        await this.components.contentRouting.provide(next, { signal })
      } catch (err) {
        this.components.log.debug({ cid: next.toString(), err: (err as Error).message }, 'could not announce the block')
      }
    }
  }
}
