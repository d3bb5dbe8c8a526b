import { once } from 'node:events'
import { connect } from 'node:net'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { failAccept } from '../net/accept-error.fixture.js'
import { closeHttp, createHttpApp, listenHttp } from './http-server.js'
import type { Server } from 'node:http'

const source = {
  registry: new Registry(),
  live: () => true,
  readiness: () => ({ ready: true, reason: 'test', coordination: 'test' }),
  status: async () => await Promise.resolve({}),
  bootstrapList: async () => await Promise.resolve('{}')
}

describe('the anchor\'s HTTP server', () => {
  let server: Server | undefined
  afterEach(async () => { if (server != null) await closeHttp(server) })

  it('answers at most a few of the requests pipelined on one connection, the rest with a short 503', async () => {
    const silent = pino({ level: 'silent' })
    const listening = await listenHttp(createHttpApp(source, silent), '127.0.0.1', 0, silent)
    server = listening.server
    const socket = connect(listening.port, '127.0.0.1')
    await once(socket, 'connect')
    // A client that pipelines many requests in one write: Node parses them all at once and,
    // without a cap, queued every answer (60 MB for 1,800 requests of /metrics).
    socket.end('GET /healthz HTTP/1.1\r\nHost: anchor\r\n\r\n'.repeat(200))
    let received = ''
    socket.on('data', (chunk: Buffer) => { received += chunk.toString() })
    await once(socket, 'close')
    // Answers follow each other without a line break (the bodies end without one).
    const answers = received.match(/HTTP\/1\.1 \d{3}/g) ?? []
    const full = answers.filter(a => a.endsWith('200')).length
    expect(full).toBeGreaterThan(0)
    expect(full).toBeLessThanOrEqual(8)
    expect(answers.length - full).toBe(answers.filter(a => a.endsWith('503')).length)
  })

  it('logs an accept that failed and goes on serving', async () => {
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(line) } })
    const listening = await listenHttp(createHttpApp(source, log), '127.0.0.1', 0, log)
    server = listening.server
    // Without a listener for it, the server's 'error' was thrown and ended the anchor.
    failAccept(listening.server)
    expect(lines.map(line => JSON.parse(line) as { msg: string, err?: { code?: string } })).toEqual([
      expect.objectContaining({ msg: expect.stringContaining('could not accept') as unknown, err: expect.objectContaining({ code: 'EMFILE' }) as unknown })
    ])
    const answer = await fetch(`http://127.0.0.1:${listening.port}/healthz`)
    expect(answer.status).toBe(200)
  })
})
