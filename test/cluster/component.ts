import { spawn } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { DEFAULT_STOP_TIMEOUT_MS, LOG_TAIL_LINES, POLL_INTERVAL_MS } from './constants.js'
import { ComponentStartError } from './errors.js'
import { sleep } from './probe.js'
import type { ChildProcess } from 'node:child_process'

/** One process of the control plane: what to run, where it logs, how to tell it is up. */
export interface ComponentSpec {
  readonly name: string
  readonly binary: string
  readonly args: readonly string[]
  /** stdout and stderr are appended here (a restart appends to the same file). */
  readonly logPath: string
  /** Resolves true once the component serves; polled every POLL_INTERVAL_MS. */
  readonly ready: () => Promise<boolean>
}

// Last resort for a test process that exits without stop(): no control-plane process outlives it.
const live = new Set<ChildProcess>()
process.once('exit', () => { for (const child of live) child.kill('SIGKILL') })

/** The last `lines` lines of a log file ('' when it cannot be read). */
export async function logTail (path: string, lines = LOG_TAIL_LINES): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '')
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/** A running control-plane process. start() resolves once `ready` says so. */
export class Component {
  readonly spec: ComponentSpec
  readonly child: ChildProcess
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<void>
  private stopRequested = false

  private constructor (spec: ComponentSpec, child: ChildProcess, exited: Promise<void>) {
    this.spec = spec
    this.child = child
    this.exited = exited
  }

  static async start (spec: ComponentSpec, timeoutMs: number): Promise<Component> {
    const fd = openSync(spec.logPath, 'a')
    writeSync(fd, `--- ${new Date().toISOString()} ${spec.binary} ${spec.args.join(' ')}\n`)
    let child: ChildProcess
    try {
      child = spawn(spec.binary, spec.args, { stdio: ['ignore', fd, fd] })
    } finally {
      closeSync(fd)
    }
    live.add(child)
    let spawnError: Error | undefined
    const exited = new Promise<void>(resolve => {
      child.once('error', err => { spawnError = err; live.delete(child); resolve() })
      child.once('exit', () => { live.delete(child); resolve() })
    })
    const component = new Component(spec, child, exited)
    const deadline = Date.now() + timeoutMs
    while (true) {
      if (!component.running || spawnError != null) {
        await exited
        const why = spawnError != null ? `could not be started: ${spawnError.message}` : `exited (${child.exitCode ?? child.signalCode})`
        throw new ComponentStartError(spec.name, why, spec.logPath, await logTail(spec.logPath), { cause: spawnError })
      }
      if (await spec.ready()) return component
      if (Date.now() > deadline) {
        await component.stop(0)
        throw new ComponentStartError(spec.name, `was not ready within ${timeoutMs} ms`, spec.logPath, await logTail(spec.logPath))
      }
      await sleep(POLL_INTERVAL_MS)
    }
  }

  get name (): string { return this.spec.name }
  get pid (): number | undefined { return this.child.pid }

  /** Whether stop() was called: an exit without it is a crash. */
  get stopping (): boolean {
    return this.stopRequested
  }

  get running (): boolean {
    return this.child.pid != null && this.child.exitCode == null && this.child.signalCode == null
  }

  /** Resident memory in bytes (Linux /proc), undefined once the process is gone. */
  async rssBytes (): Promise<number | undefined> {
    if (!this.running) return undefined
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8').catch(() => '')
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
    return kb == null ? undefined : Number(kb) * 1024
  }

  /** SIGTERM, then SIGKILL after `timeoutMs` (0: SIGKILL at once). Idempotent. */
  async stop (timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    this.stopRequested = true
    if (!this.running) return
    this.child.kill(timeoutMs === 0 ? 'SIGKILL' : 'SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    try {
      await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}
