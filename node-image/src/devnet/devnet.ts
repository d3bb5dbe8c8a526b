import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../net/ports.js'
import { AnchorChild } from './anchor-child.js'
import { NatsChild } from './nats-child.js'
import { serveWebApp } from '../webapp/web-server.js'
import type { AnchorStatus } from '../anchor/anchor-status.js'
import type { WebAppServer } from '../webapp/web-server.js'

export interface DevnetOptions {
  readonly anchors: number
  /** Where anchors keep their data; a temporary folder (removed on stop) when absent. */
  readonly dataDir?: string
  readonly host?: string
  /** Extra flags for every anchor. */
  readonly anchorFlags?: Readonly<Record<string, string>>
  /** Extra environment for every anchor process (e.g. the `NODE_OPTIONS` a pod would give it). */
  readonly anchorEnv?: Readonly<Record<string, string>>
  /** A nats-server binary to coordinate the anchors through; none runs them uncoordinated. */
  readonly natsServer?: string
  /** Serve the web app, joined through these anchors; a busy port falls back to a free one when `fallback` is set. */
  readonly web?: { readonly host: string, readonly port: number, readonly fallback?: boolean }
}

/** The addresses a page on http://127.0.0.1 can dial: WebRTC-direct (with certhash) and WebSocket. */
export function browserAddresses (multiaddrs: readonly string[]): string[] {
  return multiaddrs.filter(a => !a.includes('/p2p-circuit') && ((a.includes('/webrtc-direct/') && a.includes('/certhash/')) || a.includes('/ws/')))
}

/** N anchors on loopback, each bootstrapping from the ones started before it. */
export class Devnet {
  readonly anchors: AnchorChild[]
  readonly nats?: NatsChild
  readonly dataDir: string
  /** The web app, when asked for: open `web.url` in a browser. */
  web?: WebAppServer
  private readonly temporary: boolean

  private constructor (anchors: AnchorChild[], nats: NatsChild | undefined, dataDir: string, temporary: boolean) {
    this.anchors = anchors
    this.nats = nats
    this.dataDir = dataDir
    this.temporary = temporary
  }

  private async serveWeb (options: NonNullable<DevnetOptions['web']>): Promise<void> {
    const config = { anchors: this.anchors.flatMap(a => browserAddresses(a.multiaddrs)), allowPrivateAddresses: true, network: 'devnet on this machine' }
    try {
      this.web = await serveWebApp(config, options)
    } catch (err) {
      if (options.fallback !== true || options.port === 0) throw err
      this.web = await serveWebApp(config, { ...options, port: 0 })
    }
  }

  static async start (options: DevnetOptions): Promise<Devnet> {
    if (!Number.isInteger(options.anchors) || options.anchors < 1) throw new RangeError(`anchors must be a whole number >= 1, got ${options.anchors}`)
    const temporary = options.dataDir == null
    const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'meganet-devnet-'))
    const anchors: AnchorChild[] = []
    let nats: NatsChild | undefined
    try {
      if (options.natsServer != null) {
        nats = await NatsChild.spawn({ binary: options.natsServer, port: await freePort(), storeDir: join(dataDir, 'nats') })
      }
      for (let i = 0; i < options.anchors; i++) {
        const anchorDir = join(dataDir, `anchor-${i}`)
        await mkdir(anchorDir, { recursive: true })
        anchors.push(await AnchorChild.spawn({
          dataDir: anchorDir,
          ...(options.host != null ? { host: options.host } : {}),
          bootstrap: anchors.map(a => a.tcpAddress),
          ...(options.anchorEnv != null ? { env: options.anchorEnv } : {}),
          flags: { ...(nats != null ? { 'nats-servers': nats.url, 'fleet-name': 'devnet' } : {}), ...options.anchorFlags }
        }))
      }
    } catch (err) {
      await Promise.all(anchors.map(async a => await a.stop('SIGKILL')))
      await nats?.stop('SIGKILL')
      if (temporary) await rm(dataDir, { recursive: true, force: true })
      throw err
    }
    const devnet = new Devnet(anchors, nats, dataDir, temporary)
    if (options.web != null) {
      try {
        await devnet.serveWeb(options.web)
      } catch (err) {
        await devnet.stop()
        throw err
      }
    }
    return devnet
  }

  /** Every anchor's /status; an anchor that does not answer gives its error instead. */
  async statuses (): Promise<Array<AnchorStatus | Error>> {
    return await Promise.all(this.anchors.map(async anchor => {
      try {
        const response = await fetch(anchor.url('/status'), { signal: AbortSignal.timeout(2_000) })
        return await response.json() as AnchorStatus
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err))
      }
    }))
  }

  async stop (): Promise<void> {
    await this.web?.close()
    await Promise.all(this.anchors.map(async a => await a.stop('SIGTERM')))
    await this.nats?.stop('SIGTERM')
    if (this.temporary) await rm(this.dataDir, { recursive: true, force: true })
  }
}
