import { Session } from 'node:inspector/promises'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { monotonicMicros, summarizeProfiles } from './cpu-profile.js'
import type { ProfileWindow } from './cpu-profile.js'

/**
 * CPU profiles of one benchmark run (`npm run bench:anchors -- <name> --profile <dir>`): this
 * process through the inspector, and every Node process it starts (anchors, workers) through
 * `--cpu-prof` in the `NODE_OPTIONS` they inherit. A process writes its profile when it exits
 * cleanly (anchors stop with SIGTERM). `summary.md` then gives each process's busiest functions
 * within each phase the benchmark marked, so a result comes with the profile that explains it.
 */
export class BenchProfiler {
  private readonly windows: ProfileWindow[] = []

  private constructor (
    private readonly dir: string,
    private readonly session: Session,
    private readonly nodeOptions: string | undefined
  ) {}

  static async start (root: string, bench: string): Promise<BenchProfiler> {
    const dir = resolve(root, bench)
    // NODE_OPTIONS is split on whitespace, and reads double quotes and backslashes as its own quoting.
    if (/[\s"\\]/.test(dir)) throw new Error(`--profile: the folder ${dir} has whitespace, a double quote or a backslash in its path, which NODE_OPTIONS cannot carry as they are; choose another`)
    await mkdir(dir, { recursive: true })
    const nodeOptions = process.env.NODE_OPTIONS
    process.env.NODE_OPTIONS = [nodeOptions, `--cpu-prof --cpu-prof-dir=${dir}`].filter(Boolean).join(' ')
    const session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    return new BenchProfiler(dir, session, nodeOptions)
  }

  /** Runs `run` as the phase `label`. */
  async phase<T>(label: string, run: () => Promise<T>): Promise<T> {
    const startUs = monotonicMicros()
    try {
      return await run()
    } finally {
      this.windows.push({ label, startUs, endUs: monotonicMicros() })
    }
  }

  /** Writes this process's profile and the summary; returns the summary's path. */
  async stop (): Promise<string> {
    if (this.nodeOptions == null) delete process.env.NODE_OPTIONS
    else process.env.NODE_OPTIONS = this.nodeOptions
    const { profile } = await this.session.post('Profiler.stop')
    this.session.disconnect()
    await writeFile(join(this.dir, `bench.${process.pid}.cpuprofile`), JSON.stringify(profile))
    const path = join(this.dir, 'summary.md')
    await writeFile(path, await summarizeProfiles(this.dir, this.windows))
    return path
  }
}

/** For benchmarks run without `--profile`: phases run as they are. */
export async function unprofiledPhase<T> (_label: string, run: () => Promise<T>): Promise<T> {
  return await run()
}
