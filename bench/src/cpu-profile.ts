import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A benchmark phase, in microseconds of the monotonic clock V8 stamps its CPU profiles with. */
export interface ProfileWindow { readonly label: string, readonly startUs: number, readonly endUs: number }

interface CallFrame { readonly functionName: string, readonly url: string, readonly lineNumber: number }
interface ProfileNode { readonly id: number, readonly callFrame: CallFrame }

/** The parts of a `.cpuprofile` (V8's `Profiler.Profile`) that self time needs. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface SelfTime { readonly frame: string, readonly samples: number }

export interface WindowSummary {
  readonly label: string
  /** Samples in the window with the process running JavaScript, GC or native code. */
  readonly busy: number
  readonly idle: number
  /** Functions by the samples they were on top of the stack for, most first. */
  readonly top: readonly SelfTime[]
}

export class ProfileFormatError extends Error {
  constructor (source: string, what: string) {
    super(`${source}: not a V8 CPU profile (${what}); pass files written by --cpu-prof or the inspector's Profiler.stop`)
    this.name = 'ProfileFormatError'
  }
}

/** Microseconds of the monotonic clock, the clock of every process's profile on this machine. */
export function monotonicMicros (): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/** Checks the shape of a parsed profile; `source` names it in the error. */
export function asCpuProfile (value: unknown, source: string): CpuProfile {
  const p = value as Partial<CpuProfile> | null
  if (p == null || typeof p !== 'object') throw new ProfileFormatError(source, 'not an object')
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas)) throw new ProfileFormatError(source, 'nodes, samples or timeDeltas missing')
  if (typeof p.startTime !== 'number') throw new ProfileFormatError(source, 'startTime missing')
  if (p.samples.length !== p.timeDeltas.length) throw new ProfileFormatError(source, `${p.samples.length} samples but ${p.timeDeltas.length} time deltas`)
  for (const node of p.nodes as unknown[]) {
    const { id, callFrame } = (node ?? {}) as { id?: unknown, callFrame?: Partial<Record<keyof CallFrame, unknown>> }
    if (typeof id !== 'number' || typeof callFrame?.functionName !== 'string' || typeof callFrame.url !== 'string' || typeof callFrame.lineNumber !== 'number') throw new ProfileFormatError(source, 'a node without id or call frame')
  }
  return p as CpuProfile
}

/** Where a frame's code is, short: the package path inside node_modules, or the path in this repository. */
function frameName (frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '')
  const modules = url.lastIndexOf('node_modules/')
  const where = modules >= 0 ? url.slice(modules + 'node_modules/'.length) : url.replace(/^.*?\/((?:bench|node-image|operator|contracts)\/dist\/)/, '$1')
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
  return where === '' ? name : `${name} ${where}:${frame.lineNumber + 1}`
}

/** Self time by function within `window`; `(idle)` samples are counted apart. */
export function summarizeWindow (profile: CpuProfile, window: ProfileWindow, top = 25): WindowSummary {
  const frames = new Map<number, CallFrame>(profile.nodes.map(n => [n.id, n.callFrame]))
  const counts = new Map<string, number>()
  let busy = 0
  let idle = 0
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    if (t < window.startUs || t > window.endUs) continue
    const frame = frames.get(profile.samples[i] ?? -1)
    if (frame == null) continue
    if (frame.functionName === '(idle)') { idle++; continue }
    busy++
    const name = frameName(frame)
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, samples]) => ({ frame, samples }))
  return { label: window.label, busy, idle, top: sorted }
}

/** What a profile is of, from the scripts of this repository it ran: an anchor, a benchmark's worker, or the benchmark. */
export function processName (profile: CpuProfile): string {
  const scripts = new Set(profile.nodes.map(n => /(?:bench\/dist|node-image\/dist\/cli)\/[^/]+\.js$/.exec(n.callFrame.url)?.[0]).filter(s => s != null))
  if (scripts.has('node-image/dist/cli/main.js')) return 'anchor'
  const worker = [...scripts].find(s => s.endsWith('-worker.js'))
  if (worker != null) return `worker ${worker.slice('bench/dist/'.length, -'.js'.length)}`
  return scripts.has('bench/dist/main.js') ? 'bench' : 'other'
}

/** A Markdown summary of every profile in `dir`, for each window: the busy processes' busiest functions. */
export async function summarizeProfiles (dir: string, windows: readonly ProfileWindow[], options: { top?: number, minBusy?: number } = {}): Promise<string> {
  // A process with fewer busy samples than this in a window (20 ms at the default 1 ms interval) is left out of it.
  const { top = 25, minBusy = 20 } = options
  const files = (await readdir(dir)).filter(f => f.endsWith('.cpuprofile')).sort()
  const profiles = await Promise.all(files.map(async file => ({ file, profile: asCpuProfile(JSON.parse(await readFile(join(dir, file), 'utf8')) as unknown, file) })))
  const lines: string[] = []
  for (const window of windows) {
    lines.push(`## ${window.label} (${((window.endUs - window.startUs) / 1e6).toFixed(1)} s)`, '')
    for (const { file, profile } of profiles) {
      const summary = summarizeWindow(profile, window, top)
      if (summary.busy < minBusy || summary.busy === 0) continue
      lines.push(`### ${processName(profile)} (${file}): ${summary.busy} busy samples, ${summary.idle} idle`, '', '| self | function |', '| --- | --- |')
      for (const entry of summary.top) lines.push(`| ${(100 * entry.samples / summary.busy).toFixed(1)}% | \`${entry.frame}\` |`)
      lines.push('')
    }
  }
  return lines.join('\n')
}
