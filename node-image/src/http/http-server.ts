import { createServer } from 'node:http'
import express from 'express'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { Logger } from '../logging/logger.js'
import { ResponseCache } from './response-cache.js'

/** /status and /metrics are computed at most once per this, however often they are asked for. */
const SNAPSHOT_TTL_MS = 1_000
/** When the answer of /status or /metrics was computed (ms since the epoch): it may be up to SNAPSHOT_TTL_MS old. */
export const SNAPSHOT_TIME_HEADER = 'x-snapshot-time'
/** Slow or idle HTTP clients are cut off after these (Node's defaults wait minutes). */
const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 15_000
const KEEP_ALIVE_TIMEOUT_MS = 5_000
/** Concurrent HTTP connections; probes and scrapers need a handful. */
const MAX_HTTP_CONNECTIONS = 256
/**
 * Requests one connection may make; later ones get a small 503. Node parses every request
 * pipelined in one read and queues all their answers: 61 KB of `GET /metrics` held 60 MB of
 * answers for a client that never read them. This bounds that to a few answers per connection.
 */
const MAX_REQUESTS_PER_CONNECTION = 8
/** A connection whose answers go unread (no progress either way) is destroyed after this. */
const STALLED_CONNECTION_TIMEOUT_MS = 30_000

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
  /**
   * The signed list as JSON text (signed once and kept by its source, not per request);
   * `peered: false` leaves out the peered fleets (what other fleets embed: peering goes one hop).
   */
  bootstrapList: (options: { peered: boolean }) => Promise<string>
}

export function createHttpApp (source: AnchorHttpSource, log: Logger): express.Express {
  const app = express()
  const metrics = new ResponseCache(SNAPSHOT_TTL_MS, async () => await source.registry.metrics())
  const status = new ResponseCache(SNAPSHOT_TTL_MS, async () => JSON.stringify(await source.status()))
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
      const { at, result } = await metrics.snapshot()
      res.set(SNAPSHOT_TIME_HEADER, String(at)).type(source.registry.contentType).send(result)
    } catch (err) {
      log.error({ err }, 'metrics collection failed')
      res.status(500).type('text/plain').send(`metrics collection failed: ${(err as Error).message}\n`)
    }
  })
  app.get('/status', async (_req, res) => {
    const { at, result } = await status.snapshot()
    res.set(SNAPSHOT_TIME_HEADER, String(at)).type('application/json').send(result)
  })
  app.get('/bootstrap', async (req, res) => {
    try {
      const peered = req.query.peered !== 'false'
      // Signed, public, and what pages fetch from another origin: any page may read it.
      res.set('cache-control', 'public, max-age=60').set('access-control-allow-origin', '*').type('application/json').send(await source.bootstrapList({ peered }))
    } catch (err) {
      log.error({ err }, 'bootstrap list failed')
      res.status(500).json({ error: (err as Error).message })
    }
  })
  app.use((_req, res) => { res.status(404).json({ error: 'not found', endpoints: ['/healthz', '/readyz', '/metrics', '/status', '/bootstrap'] }) })
  return app
}

/**
 * Starts the HTTP server; resolves once it listens, with the port it got. An error the server
 * reports after that (an `accept` that failed: EMFILE, ENFILE, ENOMEM, ENOBUFS) is logged and
 * the server goes on listening; with no listener `EventEmitter` threw it and ended the anchor.
 */
export async function listenHttp (app: express.Express, host: string, port: number, log: Logger): Promise<{ server: Server, port: number }> {
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, app)
  server.maxConnections = MAX_HTTP_CONNECTIONS
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION
  server.timeout = STALLED_CONNECTION_TIMEOUT_MS
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  server.on('error', err => { log.error({ err }, 'the HTTP server could not accept a connection; it goes on listening') })
  return { server, port: (server.address() as AddressInfo).port }
}

export async function closeHttp (server: Server): Promise<void> {
  server.closeIdleConnections()
  await new Promise<void>(resolve => server.close(() => resolve()))
}
