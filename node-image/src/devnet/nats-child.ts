import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { waitForLogLine } from './log-lines.js'
import type { ChildProcess } from 'node:child_process'

/** The nats-server version the tests and devnet prefer (built by test/tools/install-nats-server.sh). */
export const PREFERRED_NATS_SERVER_VERSION = 'v2.15.2'

/**
 * Finds a nats-server binary: `$MEGANET_NATS_SERVER`, the one the install script cached, or one
 * on PATH. Undefined when there is none.
 */
export function findNatsServer (): string | undefined {
  const fromEnv = process.env.MEGANET_NATS_SERVER
  if (fromEnv != null && fromEnv !== '') return fromEnv
  const cache = process.env.MEGANET_CACHE ?? join(homedir(), '.cache', 'meganet')
  const cached = join(cache, 'bin', `nats-server-${PREFERRED_NATS_SERVER_VERSION}`, 'nats-server')
  if (existsSync(cached)) return cached
  const onPath = spawnSync('nats-server', ['--version'])
  return onPath.error == null ? 'nats-server' : undefined
}

export interface NatsChildOptions {
  readonly binary: string
  readonly port: number
  readonly storeDir: string
  readonly name?: string
  /** Clustering: this server's route port and the routes of all members. */
  readonly cluster?: { readonly name: string, readonly port: number, readonly routes: readonly string[] }
  /** Require this user and password from clients. */
  readonly auth?: { readonly user: string, readonly password: string }
  /** A server config file (accounts, users, permissions, TLS); the flags above still apply. */
  readonly configFile?: string
  readonly startTimeoutMs?: number
}

/** What nats-server logs once it listens for clients (and JetStream is up). */
const READY_LINE = '[INF] Server is ready'

/** A nats-server process with JetStream, on loopback. */
export class NatsChild {
  readonly options: NatsChildOptions
  readonly child: ChildProcess
  readonly logs: string[]

  private constructor (options: NatsChildOptions, child: ChildProcess, logs: string[]) {
    this.options = options
    this.child = child
    this.logs = logs
  }

  get url (): string {
    return `nats://127.0.0.1:${this.options.port}`
  }

  static async spawn (options: NatsChildOptions): Promise<NatsChild> {
    await mkdir(options.storeDir, { recursive: true })
    const args = [...(options.configFile != null ? ['-c', options.configFile] : []), '-a', '127.0.0.1', '-p', String(options.port), '-js', '-sd', options.storeDir]
    if (options.name != null) args.push('-n', options.name)
    if (options.auth != null) args.push('--user', options.auth.user, '--pass', options.auth.password)
    if (options.cluster != null) {
      args.push('--cluster_name', options.cluster.name, '--cluster', `nats://127.0.0.1:${options.cluster.port}`,
        '--routes', options.cluster.routes.join(','))
    }
    const child = spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    const logs: string[] = []
    // Its own log, not an open port: while a server restarts, another process may take its port.
    await waitForLogLine(child, logs, line => line.includes(READY_LINE), options.startTimeoutMs ?? 15_000, `nats-server on port ${options.port}`)
    return new NatsChild(options, child, logs)
  }

  get running (): boolean {
    return this.child.exitCode == null && this.child.signalCode == null
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return
    const exited = new Promise<void>(resolve => this.child.once('exit', () => resolve()))
    this.child.kill(signal)
    await exited
  }
}
