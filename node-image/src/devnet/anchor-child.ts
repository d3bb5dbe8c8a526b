import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitForLogMessage } from './log-lines.js'
import type { ChildProcess } from 'node:child_process'

/** The built `meganet` CLI (src/ and dist/ both sit two levels below the package root). */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

export interface AnchorChildOptions {
  readonly dataDir: string
  readonly host?: string
  readonly bootstrap?: readonly string[]
  /** Extra `--flag value` pairs, flag names without the dashes. */
  readonly flags?: Readonly<Record<string, string>>
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly startTimeoutMs?: number
  /** A command the anchor runs under, e.g. `ip netns exec <ns>` to start it in a network namespace. */
  readonly launcher?: readonly string[]
}

interface ServingLine { msg: string, peerId: string, multiaddrs: string[], httpPort: number }

const DEFAULT_START_TIMEOUT_MS = 20_000

/**
 * An anchor in its own process (`meganet anchor`), on free ports, known once it logs that it
 * is serving. Used by `meganet devnet` and by the tests.
 */
export class AnchorChild {
  readonly peerId: string
  readonly multiaddrs: readonly string[]
  readonly httpPort: number
  readonly host: string
  readonly child: ChildProcess
  /** Every log line the anchor wrote so far. */
  readonly logs: string[]

  private constructor (line: ServingLine, host: string, child: ChildProcess, logs: string[]) {
    this.peerId = line.peerId
    this.multiaddrs = line.multiaddrs
    this.httpPort = line.httpPort
    this.host = host
    this.child = child
    this.logs = logs
  }

  static async spawn (options: AnchorChildOptions): Promise<AnchorChild> {
    const host = options.host ?? '127.0.0.1'
    const args = [CLI_PATH, 'anchor', '--data-dir', options.dataDir, '--listen-host', host, '--listen-tcp-port', '0',
      '--listen-ws-port', '0', '--listen-webrtc-direct-port', '0', '--listen-webrtc-direct-rotation-port', '0', '--http-host', host, '--http-port', '0', '--dht-allow-private-addresses', 'true']
    if (options.bootstrap != null && options.bootstrap.length > 0) args.push('--bootstrap', options.bootstrap.join(','))
    for (const [flag, value] of Object.entries(options.flags ?? {})) args.push(`--${flag}`, value)
    const [command, ...prefix] = [...(options.launcher ?? []), process.execPath]
    const child = spawn(command, [...prefix, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] })
    const logs: string[] = []
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    const line = await waitForLogMessage<ServingLine>(child, logs, 'anchor serving', timeoutMs, 'anchor')
    return new AnchorChild(line, host, child, logs)
  }

  get tcpAddress (): string {
    const address = this.multiaddrs.find(a => a.includes('/tcp/') && !a.includes('/ws'))
    if (address == null) throw new Error(`anchor ${this.peerId} has no TCP address`)
    return address
  }

  url (path: string): string {
    return `http://${this.host}:${this.httpPort}${path}`
  }

  get running (): boolean {
    return this.child.exitCode == null && this.child.signalCode == null
  }

  /** Sends `signal` (SIGTERM: graceful) and resolves with the exit code once it exited. */
  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.running) return this.child.exitCode
    const exited = new Promise<number | null>(resolve => this.child.once('exit', code => resolve(code)))
    this.child.kill(signal)
    return await exited
  }
}
