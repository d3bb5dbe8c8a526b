import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitForLogMessage } from '../../node-image/src/devnet/log-lines.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import type { ChildProcess } from 'node:child_process'

export const OPERATOR_MAIN = fileURLToPath(new URL('../../operator/dist/main.js', import.meta.url))

/** A real `meganet-operator` process against the test control plane, with short lease timings. */
export class OperatorProcess {
  readonly child: ChildProcess
  readonly logs: string[]
  readonly identity: string
  readonly metricsPort: number
  readonly healthPort: number

  private constructor (child: ChildProcess, logs: string[], identity: string, ports: { health: number, metrics: number }) {
    this.child = child
    this.logs = logs
    this.identity = identity
    this.healthPort = ports.health
    this.metricsPort = ports.metrics
  }

  static async start (kubeconfig: string, identity: string, flags: Record<string, string> = {}): Promise<OperatorProcess> {
    const args = [OPERATOR_MAIN, '--kubeconfig', kubeconfig, '--namespace', 'default', '--identity', identity,
      '--health-host', '127.0.0.1', '--health-port', '0', '--metrics-port', '0', '--lease-duration', '6s', '--renew-interval', '500ms',
      '--resync', '30s', '--member-ttl', '3s', '--image', 'meganet:test', '--log-level', 'debug', '--command-key-file', testOperatorKey().file]
    for (const [flag, value] of Object.entries(flags)) args.push(`--${flag}`, value)
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    const logs: string[] = []
    const ports = await waitForLogMessage<{ health: number, metrics: number }>(child, logs, 'waiting to lead', 20_000, 'operator')
    return new OperatorProcess(child, logs, identity, ports)
  }

  get running (): boolean {
    return this.child.exitCode == null && this.child.signalCode == null
  }

  async metric (sample: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text()
    const line = text.split('\n').find(l => l.startsWith(`${sample} `))
    if (line == null) throw new Error(`metric ${sample} not exported`)
    return Number(line.slice(sample.length + 1))
  }

  async isLeader (): Promise<boolean> {
    return this.running && (await this.metric('meganet_operator_leader').catch(() => 0)) === 1
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return
    const exited = new Promise<void>(resolve => this.child.once('exit', () => resolve()))
    this.child.kill(signal)
    await exited
  }
}
