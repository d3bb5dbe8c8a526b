import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AnchorChild } from '../../node-image/src/devnet/anchor-child.js'
import { freshSnapshot } from './fresh-snapshot.js'
import type { AnchorChildOptions } from '../../node-image/src/devnet/anchor-child.js'

export type AnchorProcessOptions = Partial<AnchorChildOptions>

/** A real anchor process for tests: a temporary data dir unless given, and metric helpers. */
export class AnchorProcess {
  readonly anchor: AnchorChild
  readonly dataDir: string
  private readonly ownsDataDir: boolean

  private constructor (anchor: AnchorChild, dataDir: string, ownsDataDir: boolean) {
    this.anchor = anchor
    this.dataDir = dataDir
    this.ownsDataDir = ownsDataDir
  }

  static async start (options: AnchorProcessOptions = {}): Promise<AnchorProcess> {
    const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'meganet-anchor-'))
    const anchor = await AnchorChild.spawn({ ...options, dataDir, flags: { 'shutdown-grace': '2s', ...options.flags } })
    return new AnchorProcess(anchor, dataDir, options.dataDir == null)
  }

  get peerId (): string { return this.anchor.peerId }
  get tcpAddress (): string { return this.anchor.tcpAddress }
  get logs (): string[] { return this.anchor.logs }
  url (path: string): string { return this.anchor.url(path) }

  /** An endpoint's JSON as of now (not an older snapshot). */
  async json<T> (path: string): Promise<T> {
    return JSON.parse(await freshSnapshot(this.url(path))) as T
  }

  /** /metrics as of now (not an older snapshot). */
  async metrics (): Promise<string> {
    return await freshSnapshot(this.url('/metrics'))
  }

  /** Reads one sample (`name` or `name{label="x"}`) from /metrics. */
  async metric (sample: string): Promise<number> {
    const line = (await this.metrics()).split('\n').find(l => l.startsWith(`${sample} `))
    if (line == null) throw new Error(`metric ${sample} not exported`)
    return Number(line.slice(sample.length + 1))
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return await this.anchor.stop(signal)
  }

  async cleanup (): Promise<void> {
    await this.anchor.stop('SIGKILL')
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true })
  }
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T> (check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError != null ? `: ${(lastError as Error).message}` : ''}`)
}
