import { makeInformer } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node'

const INITIAL_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000

export interface InformerInit<T extends KubernetesObject> {
  readonly config: KubeConfig
  /** Watch path, e.g. `/apis/meganet.io/v1alpha1/anchorfleets`. */
  readonly path: string
  readonly list: () => Promise<KubernetesListObject<T>>
  readonly labelSelector?: string
  readonly onChange: (object: T) => void
  /** Called each time a failed watch is restarted (and re-lists). */
  readonly onRestart?: () => void
  readonly log: Logger
}

/**
 * A watch that survives: client-node's informer re-lists on 410 but stops on any other error;
 * this one restarts it with exponential backoff, forever, until stopped.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly init: InformerInit<T>
  private informer: ReturnType<typeof makeInformer<T>>
  private backoffMs = INITIAL_BACKOFF_MS
  private timer?: NodeJS.Timeout
  private stopped = false
  private synced = false
  restarts = 0

  constructor (init: InformerInit<T>) {
    this.init = init
    this.informer = this.create()
  }

  /** False until the first list, and again from a restart until the new list has returned. */
  get hasSynced (): boolean { return this.synced }

  list (): readonly T[] {
    return this.informer.list()
  }

  get (name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace)
  }

  async start (): Promise<void> {
    await this.run()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.informer.stop().catch(() => {})
  }

  private create (): ReturnType<typeof makeInformer<T>> {
    const informer = makeInformer<T>(this.init.config, this.init.path, this.init.list, this.init.labelSelector)
    const changed = (object: T): void => { this.init.onChange(object) }
    informer.on('add', changed)
    informer.on('update', changed)
    informer.on('delete', changed)
    informer.on('connect', () => { this.backoffMs = INITIAL_BACKOFF_MS })
    informer.on('error', (err: unknown) => {
      if (this.stopped) return
      this.init.log.warn({ path: this.init.path, err: (err as Error)?.message, retryInMs: this.backoffMs }, 'watch failed; restarting')
      this.scheduleRestart()
    })
    return informer
  }

  private async run (): Promise<void> {
    try {
      await this.informer.start()
      this.synced = true
      // Items that changed while the watch was down arrive as adds or updates after the re-list.
      for (const object of this.informer.list()) this.init.onChange(object)
    } catch (err) {
      this.init.log.warn({ path: this.init.path, err: (err as Error).message, retryInMs: this.backoffMs }, 'cannot start watch; retrying')
      this.scheduleRestart()
    }
  }

  private scheduleRestart (): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    const delay = this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS)
    this.timer = setTimeout(() => {
      void (async () => {
        await this.informer.stop().catch(() => {})
        if (this.stopped) return
        this.restarts++
        this.init.onRestart?.()
        // The new informer's cache is empty until its list returns: an object missing from it
        // then means "not known yet", not "gone", so nobody may act on it until it has synced.
        this.synced = false
        this.informer = this.create()
        await this.run()
      })()
    }, delay)
  }
}
