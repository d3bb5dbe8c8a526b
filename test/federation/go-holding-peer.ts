import { execFileSync, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

const INSTALL_SCRIPT = fileURLToPath(new URL('../tools/install-go-relay.sh', import.meta.url))
const DEFAULT_START_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 5_000

/** The go-relay binary: MEGANET_GO_RELAY, or built once from the Go module proxy (about 1.5 min cold). */
export function goRelayBinary (): string {
  return process.env.MEGANET_GO_RELAY ?? execFileSync('bash', [INSTALL_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
}

interface HoldingLine { peerId: string, circuitAddrs: string[] }

/**
 * A go-libp2p peer behind a NAT (test/tools/go-relay `hold`): it holds a reservation on each
 * relay given and is reachable only through them. Known once its own signed peer record names
 * a circuit address.
 */
export class GoHoldingPeer {
  readonly peerId: string
  /** `<relay addr>/p2p/<relay>/p2p-circuit/p2p/<this peer>`, one per reservation held at start. */
  readonly circuitAddrs: readonly string[]
  /** What it logged (stderr): reservations, and its signed record's seq and addresses after each change. */
  readonly logs: string[]
  private readonly child: ChildProcess

  private constructor (line: HoldingLine, child: ChildProcess, logs: string[]) {
    this.peerId = line.peerId
    this.circuitAddrs = line.circuitAddrs
    this.child = child
    this.logs = logs
  }

  static async start ({ relays, timeoutMs = DEFAULT_START_TIMEOUT_MS }: { relays: readonly string[], timeoutMs?: number }): Promise<GoHoldingPeer> {
    const child = spawn(goRelayBinary(), ['hold', '--relay', relays.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] })
    const logs: string[] = []
    createInterface({ input: child.stderr }).on('line', line => logs.push(line))
    const line = await new Promise<HoldingLine>((resolve, reject) => {
      const onExit = (code: number | null): void => { fail(`exited with code ${code}`) }
      const timer = setTimeout(() => { fail(`held no reservation within ${timeoutMs} ms`) }, timeoutMs)
      const fail = (why: string): void => {
        clearTimeout(timer)
        child.off('exit', onExit)
        child.kill('SIGKILL')
        reject(new Error(`go-relay hold ${why}:\n${logs.join('\n')}`))
      }
      child.once('exit', onExit)
      createInterface({ input: child.stdout }).once('line', text => {
        clearTimeout(timer)
        child.off('exit', onExit)
        try {
          resolve(JSON.parse(text) as HoldingLine)
        } catch {
          fail(`printed ${text}`)
        }
      })
    })
    return new GoHoldingPeer(line, child, logs)
  }

  async stop (): Promise<void> {
    if (this.child.exitCode != null || this.child.signalCode != null) return
    const exited = new Promise(resolve => this.child.once('exit', resolve))
    this.child.kill('SIGTERM')
    const killer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(killer)
  }
}
