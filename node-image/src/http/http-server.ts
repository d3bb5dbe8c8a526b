import { createServer } from 'node:http'
import express from 'express'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Logger } from '../logging/logger.js'

export interface Readiness {
  readonly ready: boolean
  readonly reason: string
  /** Reported, never part of the verdict: losing NATS must not make pods flap. */
  readonly coordination: string
}

/** What the anchor's HTTP endpoints read. */
export interface AnchorHttpSource {
  readonly registry: Registry
  live: () => boolean
  readiness: () => Readiness
  status: () => Promise<unknown>
  bootstrapList: () => Promise<unknown>
}

export function createHttpApp (source: AnchorHttpSource, log: Logger): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (_req, res) => {
    const live = source.live()
    res.status(live ? 200 : 503).json({ status: live ? 'ok' : 'stopped' })
  })
  app.get('/readyz', (_req, res) => {
    const readiness = source.readiness()
    res.status(readiness.ready ? 200 : 503).json(readiness)
  })
  app.get('/metrics', async (_req, res) => {
    try {
      const body = await source.registry.metrics()
      res.type(source.registry.contentType).send(body)
    } catch (err) {
      log.error({ err }, 'metrics collection failed')
      res.status(500).type('text/plain').send(`metrics collection failed: ${(err as Error).message}\n`)
    }
  })
  app.get('/status', async (_req, res) => {
    res.json(await source.status())
  })
  app.get('/bootstrap', async (_req, res) => {
    try {
      res.set('cache-control', 'public, max-age=60').json(await source.bootstrapList())
    } catch (err) {
      log.error({ err }, 'bootstrap list failed')
      res.status(500).json({ error: (err as Error).message })
    }
  })
  app.use((_req, res) => { res.status(404).json({ error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics', '/status', '/bootstrap'] }) })
  return app
}

/** Starts the HTTP server; resolves once it listens, with the port it got. */
export async function listenHttp (app: express.Express, host: string, port: number): Promise<{ server: Server, port: number }> {
  const server = createServer(app)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  return { server, port: (server.address() as AddressInfo).port }
}

export async function closeHttp (server: Server): Promise<void> {
  server.closeIdleConnections()
  await new Promise<void>(resolve => server.close(() => resolve()))
}
