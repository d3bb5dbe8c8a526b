import { spawn } from 'node:child_process'
import { CLI_PATH, Devnet, findNatsServer } from '@meganet/node/testing'
import { quantile } from './stats.js'
import type { BenchContext, BenchResult } from './bench-types.js'

/** The goal of issue 16: `meganet peer send` on a devnet, p50 wall time including Node's start. */
const GOAL_P50_MS = 1_500

/** Runs the CLI to completion; its wall time in ms, or a rejection with its output. */
async function timed (args: readonly string[]): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  if (code !== 0) throw new Error(`meganet ${args.slice(0, 2).join(' ')} exited with ${code}: ${output.trim()}`)
  return performance.now() - started
}

/**
 * `cli-send`: wall time of `meganet peer send` (a new process each time: Node's start, joining
 * through one anchor, finding the receiver through the fleet, delivering) on a three-anchor
 * devnet with NATS, receiver on another anchor. Side by side, in the same run: `meganet
 * --version`, which is Node's start and the CLI's module loading alone.
 */
export async function cliSend (context: BenchContext): Promise<BenchResult> {
  const runs = context.smoke ? 2 : 20
  const natsServer = findNatsServer()
  if (natsServer == null) throw new Error('no nats-server: run test/tools/install-nats-server.sh or set MEGANET_NATS_SERVER')
  const devnet = await Devnet.start({ anchors: 3, natsServer })
  const listener = spawn(process.execPath, [CLI_PATH, 'peer', 'listen', '--anchor', devnet.anchors[2]!.tcpAddress, '--allow-private-addresses'], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    const peerId = await new Promise<string>((resolve, reject) => {
      let out = ''
      listener.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const id = /^peer (\S+)$/m.exec(out)?.[1]
        if (id != null && out.includes('reachable at')) resolve(id)
      })
      listener.once('exit', code => { reject(new Error(`meganet peer listen exited with ${code}`)) })
    })
    context.progress(`devnet up, receiver ${peerId}; ${runs} sends`)
    const send: number[] = []
    const version: number[] = []
    for (let i = 0; i < runs; i++) {
      send.push(await timed(['peer', 'send', peerId, `hello ${i}`, '--anchor', devnet.anchors[i % 2]!.tcpAddress, '--allow-private-addresses']))
      version.push(await timed(['--version']))
    }
    const sendP50 = quantile(send, 0.5)
    const versionP50 = quantile(version, 0.5)
    return {
      name: 'cli-send',
      summary: `peer send p50 ${sendP50.toFixed(0)} ms, p90 ${quantile(send, 0.9).toFixed(0)} ms (goal p50 <= ${GOAL_P50_MS} ms); meganet --version p50 ${versionP50.toFixed(0)} ms in the same run`,
      metrics: {
        runs,
        sendP50Ms: sendP50,
        sendP90Ms: quantile(send, 0.9),
        versionP50Ms: versionP50,
        sendOverVersionP50: sendP50 / versionP50
      },
      goalMet: sendP50 <= GOAL_P50_MS
    }
  } finally {
    listener.kill('SIGINT')
    await devnet.stop()
  }
}
