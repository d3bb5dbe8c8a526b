import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from '@nats-io/transport-node'
import { NatsChild, findNatsServer } from '../../node-image/src/devnet/nats-child.js'
import { freePort } from './ports.js'
import type { NatsConnection } from '@nats-io/nats-core'

const INSTALL_SCRIPT = fileURLToPath(new URL('../tools/install-nats-server.sh', import.meta.url))

/** The nats-server the tests use: found, or built once by the install script. */
export function natsServerBinary (): string {
  return findNatsServer() ?? execFileSync('bash', [INSTALL_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
}

/** One nats-server (or a cluster member) with its own store, restartable on the same port and store. */
export class TestNats {
  server: NatsChild
  private readonly dir: string

  private constructor (server: NatsChild, dir: string) {
    this.server = server
    this.dir = dir
  }

  static async start (options: { name?: string, cluster?: { name: string, port: number, routes: string[] }, port?: number, auth?: { user: string, password: string }, configFile?: string } = {}): Promise<TestNats> {
    const dir = await mkdtemp(join(tmpdir(), 'meganet-nats-'))
    const server = await NatsChild.spawn({
      binary: natsServerBinary(),
      port: options.port ?? await freePort(),
      storeDir: join(dir, 'store'),
      ...(options.name != null ? { name: options.name } : {}),
      ...(options.cluster != null ? { cluster: options.cluster } : {}),
      ...(options.auth != null ? { auth: options.auth } : {}),
      ...(options.configFile != null ? { configFile: options.configFile } : {})
    })
    return new TestNats(server, dir)
  }

  get url (): string {
    return this.server.url
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.server.stop(signal)
  }

  /** Starts the server again on the same port with the same store. */
  async restart (): Promise<void> {
    await this.server.stop()
    this.server = await NatsChild.spawn(this.server.options)
  }

  async cleanup (): Promise<void> {
    await this.server.stop('SIGKILL')
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** A three-node JetStream cluster on loopback. */
export async function startNatsCluster (size = 3): Promise<TestNats[]> {
  const routePorts = await Promise.all(Array.from({ length: size }, async () => await freePort()))
  const routes = routePorts.map(p => `nats://127.0.0.1:${p}`)
  return await Promise.all(routePorts.map(async (port, i) => await TestNats.start({
    name: `n${i}`, cluster: { name: 'meganet-test', port, routes }
  })))
}

export async function natsClient (servers: string | string[]): Promise<NatsConnection> {
  return await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 250 })
}
