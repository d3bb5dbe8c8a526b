import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

export const CLI = fileURLToPath(new URL('../../node-image/dist/cli/main.js', import.meta.url))

export interface AnchorProcessOptions {
  readonly dataDir?: string
  readonly bootstrap?: readonly string[]
  /** Extra `--flag value` pairs. */
  readonly flags?: Readonly<Record<string, string>>
  readonly env?: Readonly<Record<string, string>>
}

interface ServingLine { msg: string, peerId: string, multiaddrs: string[], httpPort: number }

/** A real anchor in its own process, on loopback, with free ports. */
export class AnchorProcess {
  readonly dataDir: string
  readonly peerId: string
  readonly multiaddrs: string[]
  readonly httpPort: number
  readonly child: ChildProcess
  readonly logs: string[]
  private readonly ownsDataDir: boolean

  private constructor (init: { dataDir: string, ownsDataDir: boolean, line: ServingLine, child: ChildProcess, logs: string[] }) {
    this.dataDir = init.dataDir
    this.ownsDataDir = init.ownsDataDir
    this.peerId = init.line.peerId
    this.multiaddrs = init.line.multiaddrs
    this.httpPort = init.line.httpPort
    this.child = init.child
    this.logs = init.logs
  }

  static async start (options: AnchorProcessOptions = {}): Promise<AnchorProcess> {
    const ownsDataDir = options.dataDir == null
    const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'meganet-anchor-'))
    const args = [CLI, 'anchor', '--data-dir', dataDir, '--listen-host', '127.0.0.1', '--listen-tcp-port', '0',
      '--listen-ws-port', '0', '--http-host', '127.0.0.1', '--http-port', '0', '--dht-allow-private-addresses', 'true',
      '--shutdown-grace', '2s']
    if (options.bootstrap != null && options.bootstrap.length > 0) args.push('--bootstrap', options.bootstrap.join(','))
    for (const [flag, value] of Object.entries(options.flags ?? {})) args.push(`--${flag}`, value)
    const child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const logs: string[] = []
    const line = await new Promise<ServingLine>((resolve, reject) => {
      let buffer = ''
      const timer = setTimeout(() => reject(new Error(`anchor did not start within 20 s:\n${logs.join('\n')}`)), 20_000)
      child.stderr.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        let index
        while ((index = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, index)
          buffer = buffer.slice(index + 1)
          logs.push(text)
          try {
            const parsed = JSON.parse(text) as Partial<ServingLine>
            if (parsed.msg === 'anchor serving') { clearTimeout(timer); resolve(parsed as ServingLine) }
          } catch { /* not a log line */ }
        }
      })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`anchor exited with ${code}:\n${logs.join('\n')}`)) })
    })
    return new AnchorProcess({ dataDir, ownsDataDir, line, child, logs })
  }

  get tcpAddress (): string {
    const address = this.multiaddrs.find(a => a.includes('/tcp/') && !a.includes('/ws'))
    if (address == null) throw new Error(`anchor ${this.peerId} has no TCP address`)
    return address
  }

  url (path: string): string {
    return `http://127.0.0.1:${this.httpPort}${path}`
  }

  async json<T> (path: string): Promise<T> {
    const response = await fetch(this.url(path))
    return await response.json() as T
  }

  async metrics (): Promise<string> {
    return await (await fetch(this.url('/metrics'))).text()
  }

  /** Reads one sample (`name{labels}`) from /metrics. */
  async metric (sample: string): Promise<number> {
    const text = await this.metrics()
    const line = text.split('\n').find(l => l.startsWith(`${sample} `))
    if (line == null) throw new Error(`metric ${sample} not exported`)
    return Number(line.slice(sample.length + 1))
  }

  /** SIGTERM (or another signal) and wait for the exit code. */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode != null || this.child.signalCode != null) return this.child.exitCode
    const exited = new Promise<number | null>(resolve => this.child.once('exit', code => resolve(code)))
    this.child.kill(signal)
    return await exited
  }

  async cleanup (): Promise<void> {
    await this.stop('SIGKILL')
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
