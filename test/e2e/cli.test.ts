import { spawn } from 'node:child_process'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_PATH } from '../../node-image/src/devnet/anchor-child.js'
import { eventually } from '../helpers/anchor-process.js'
import type { ChildProcess } from 'node:child_process'

/** A CLI process whose stdout is collected as it comes. */
function start (args: string[]): { child: ChildProcess, output: () => string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return { child, output: () => out, exited }
}

describe('meganet devnet and peer commands', () => {
  let devnet: ReturnType<typeof start>
  let anchorAddresses: string[] = []

  beforeAll(async () => {
    devnet = start(['devnet', '--anchors', '3'])
    await eventually(() => devnet.output().includes('devnet up') && devnet.output().includes('join it:') ? true : undefined, 40_000, 'devnet up')
    anchorAddresses = [...devnet.output().matchAll(/addr {2}(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/g)].map(m => m[1]!)
    expect(anchorAddresses).toHaveLength(3)
  })

  afterAll(async () => {
    devnet.child.kill('SIGINT')
    expect(await devnet.exited).toBe(0)
    expect(devnet.output()).toContain('devnet stopped')
  })

  it('shows a live line per anchor', async () => {
    await eventually(() => (devnet.output().match(/anchor-\d {2}12D3KooW\S+ {2}serving/g) ?? []).length >= 3 ? true : undefined, 30_000, 'status lines')
  })

  it('listens, sends and pings by PeerId through different anchors', async () => {
    const listener = start(['peer', 'listen', '--anchor', anchorAddresses[2]!, '--allow-private-addresses'])
    try {
      const peerId = await eventually(() => /^peer (\S+)$/m.exec(listener.output())?.[1], 30_000, 'listener PeerId')
      // The two lines may reach this process in separate reads.
      await eventually(() => /reachable at \S+\/p2p-circuit\/p2p\//.test(listener.output()) ? true : undefined, 10_000, 'listener circuit address')

      const sender = start(['peer', 'send', peerId, 'hello', 'from', 'the', 'cli', '--anchor', anchorAddresses[0]!, '--allow-private-addresses'])
      expect(await sender.exited).toBe(0)
      expect(sender.output()).toContain(`delivered to ${peerId}`)
      await eventually(() => listener.output().includes('(relayed): hello from the cli') ? true : undefined, 10_000, 'message printed')

      const pinger = start(['peer', 'ping', peerId, '--count', '2', '--anchor', anchorAddresses[1]!, '--allow-private-addresses'])
      expect(await pinger.exited).toBe(0)
      expect(pinger.output().match(/pong from \S+: [\d.]+ ms \(relayed\)/g)).toHaveLength(2)

      const scripted = start(['peer', 'send', peerId, 'for', 'scripts', '--json', '--anchor', anchorAddresses[1]!, '--allow-private-addresses'])
      expect(await scripted.exited).toBe(0)
      expect(JSON.parse(scripted.output())).toEqual({ delivered: true, to: peerId })
    } finally {
      listener.child.kill('SIGINT')
      // Stopped cleanly, with the shell's code for Ctrl-C.
      expect(await listener.exited).toBe(130)
    }
  })

  it('checks its arguments before joining: one line naming the value, exit 2', async () => {
    // A well-formed link (a JSON manifest's CID and a 32-byte key) to a file nobody stored.
    const manifestCid = CID.createV1(0x0200, await sha256.digest(new TextEncoder().encode('no such manifest'))).toString()
    for (const [args, problem] of [
      [['peer', 'send', 'nobody', 'hi'], '"nobody" is not a PeerId: paste the whole id'],
      [['peer', 'put', '/nonexistent/photo.jpg'], 'there is no file /nonexistent/photo.jpg: check the path'],
      [['peer', 'get', 'https://example.com/f', 'copy.jpg'], 'That is not a working MegaNet link'],
      [['peer', 'get', `meganet://${manifestCid}#${'A'.repeat(43)}`, '/nonexistent/copy.jpg'], 'the folder /nonexistent does not exist']
    ] as const) {
      // The anchor given is never dialled: the arguments are refused first.
      const cli = start([...args, '--anchor', anchorAddresses[0]!, '--allow-private-addresses'])
      expect(await cli.exited).toBe(2)
      expect(cli.output()).toContain(problem)
      expect(cli.output().trim().split('\n')).toHaveLength(1)
    }
  })

  it('exits with 2 and one line naming the mistake for a wrong command line', async () => {
    for (const [args, line] of [
      [['peer', 'send'], "error: missing required argument 'peerId'"],
      [['peer', 'ping', 'x', '--bogus'], "error: unknown option '--bogus'"],
      [['frob'], "error: unknown command 'frob'"]
    ] as const) {
      const cli = start([...args])
      expect(await cli.exited).toBe(2)
      expect(cli.output().trim()).toBe(line)
    }
  })

  it('runs as `npx meganet`, as the README prints it (npm ci links the command before anything is built)', async () => {
    const npx = spawn('npx', ['--no-install', 'meganet', '--version'], { cwd: new URL('../..', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    npx.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    npx.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
    expect(await new Promise(resolve => npx.once('exit', resolve))).toBe(0)
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('says why it cannot join: nothing listening, or another node at the address', async () => {
    const anchor = anchorAddresses[0]!
    const anchorPeerId = anchor.split('/p2p/')[1]!
    const otherPeerId = anchorAddresses[1]!.split('/p2p/')[1]!
    for (const [address, reason] of [
      ['/ip4/127.0.0.1/tcp/1/p2p/' + anchorPeerId, 'nothing listens there'],
      [anchor.replace(anchorPeerId, otherPeerId), 'another PeerId']
    ] as const) {
      const cli = start(['peer', 'send', anchorPeerId, 'hi', '--anchor', address, '--allow-private-addresses'])
      expect(await cli.exited).toBe(1)
      expect(cli.output()).toContain(reason)
    }
  })
})
