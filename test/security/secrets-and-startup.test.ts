import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_PATH } from '../../node-image/src/devnet/anchor-child.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'

const PASSWORD = 's3cret-Pa55word'

/** Issue 13, finding 6: no NATS secret in /status, metrics or logs; a missing creds file stops the start. */
describe('secrets stay secret, and bad credentials stop the start', () => {
  let nats: TestNats
  let anchor: AnchorProcess

  beforeAll(async () => {
    nats = await TestNats.start({ auth: { user: 'meganet', password: PASSWORD } })
    const url = nats.url.replace('nats://', `nats://meganet:${PASSWORD}@`)
    anchor = await AnchorProcess.start({ flags: { 'nats-servers': url, 'fleet-name': 'secrets', 'log-level': 'debug' } })
    await eventually(async () => (await anchor.json<{ coordination: { state: string } }>('/status')).coordination.state === 'connected' ? true : undefined, 15_000, 'connected with the password')
  })

  afterAll(async () => {
    await anchor?.cleanup()
    await nats?.cleanup()
  })

  it('keeps a password given inside the NATS URL out of /status, /metrics and the logs', async () => {
    const status = await (await fetch(anchor.url('/status'))).text()
    expect(status).not.toContain(PASSWORD)
    expect(status).toContain('127.0.0.1')
    expect(await anchor.metrics()).not.toContain(PASSWORD)
    expect(anchor.logs.join('\n')).not.toContain(PASSWORD)
  })

  it('stops with one clear line when the NATS credentials file is missing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'meganet-anchor-'))
    try {
      const child = spawn(process.execPath, [CLI_PATH, 'anchor', '--data-dir', dataDir, '--listen-host', '127.0.0.1', '--listen-tcp-port', '0',
        '--listen-ws-port', '0', '--http-port', '0', '--nats-servers', nats.url, '--nats-creds-file', join(dataDir, 'no-such.creds')],
      { stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
      child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
      clearTimeout(timer)
      expect(code).not.toBe(0)
      expect(code).not.toBeNull()
      expect(output).toMatch(/no-such\.creds/)
      expect(output.trim().split('\n').filter(line => line.includes('no-such.creds'))).toHaveLength(1)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
