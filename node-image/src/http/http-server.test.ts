import { once } from 'node:events'
import { connect } from 'node:net'
import pino from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
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
    const listening = await listenHttp(createHttpApp(source, pino({ level: 'silent' })), '127.0.0.1', 0)
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
})
