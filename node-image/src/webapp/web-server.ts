import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The bundled web app (`npm run build` writes it); src/ and dist/ both sit two levels below the package root. */
export const WEB_APP_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url))

export class WebAppError extends Error {
  override readonly name = 'WebAppError'
}

/** What the page reads from `config.json`: where to join and whether loopback/LAN addresses may be dialled. */
export interface WebAppConfig {
  readonly anchors: readonly string[]
  readonly allowPrivateAddresses: boolean
  readonly network?: string
  /** A signed bootstrap list the page joins through (verified against `trustedAnchors`, kept in localStorage). */
  readonly bootstrapUrl?: string
  readonly trustedAnchors?: readonly string[]
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8'
}

async function listFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
}

export interface WebAppServer {
  readonly url: string
  readonly server: Server
  close (): Promise<void>
}

/**
 * Serves the web app and its `config.json` over HTTP. Only the files the build wrote are served
 * (a fixed list read at start: no path from a request ever reaches the file system).
 */
export async function serveWebApp (config: WebAppConfig, options: { host: string, port: number, dir?: string }): Promise<WebAppServer> {
  const dir = options.dir ?? WEB_APP_DIR
  if (!existsSync(join(dir, 'index.html'))) throw new WebAppError(`the web app is not built (${dir} has no index.html): run npm run build`)
  const files = new Map<string, Buffer>()
  for (const file of await listFiles(dir)) if (file !== 'meta.json') files.set(`/${file}`, await readFile(join(dir, file)))
  const configBody = Buffer.from(JSON.stringify(config))
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname
    const name = path === '/' ? '/index.html' : path
    const body = name === '/config.json' ? configBody : files.get(name)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (body == null) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
      'content-length': body.byteLength,
      'cache-control': name === '/config.json' || name === '/index.html' ? 'no-store' : 'max-age=300',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer'
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => { reject(new WebAppError(`cannot serve the web app on ${options.host}:${options.port}: ${err.message}`, { cause: err })) }
    server.once('error', failed)
    server.listen(options.port, options.host, () => { server.off('error', failed); resolve() })
  })
  // A failed accept (EMFILE, ENOMEM) is emitted on the server: reported, and the page stays served.
  server.on('error', err => { process.stderr.write(`meganet web: could not accept a connection (${err.message}); still serving\n`) })
  const { port } = server.address() as AddressInfo
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}/`,
    server,
    close: async () => { await new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }) }
  }
}
