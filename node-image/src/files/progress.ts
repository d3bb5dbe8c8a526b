import { formatBytes } from '../config/units.js'
import { DEFAULT_PLAIN_PROGRESS_INTERVAL_MS, DEFAULT_TTY_PROGRESS_INTERVAL_MS, PROGRESS_RATE_WINDOW_MS } from './constants.js'

/** How far a transfer has got, in plaintext bytes. */
export interface TransferProgress {
  readonly bytes: number
  readonly totalBytes: number
}

/** The part of a `tty.WriteStream` (or any writable) the reporter uses. */
export interface ProgressStream {
  readonly isTTY?: boolean
  readonly columns?: number
  write (text: string): unknown
}

export interface ProgressReporterOptions {
  /** Starts every line, e.g. `put photo.jpg`. */
  readonly label: string
  /** @default process.stderr */
  readonly stream?: ProgressStream
  /** Milliseconds from any fixed origin. @default performance.now */
  readonly now?: () => number
  /** @default DEFAULT_PLAIN_PROGRESS_INTERVAL_MS */
  readonly plainIntervalMs?: number
  /** @default DEFAULT_TTY_PROGRESS_INTERVAL_MS */
  readonly ttyIntervalMs?: number
}

export interface ProgressReporter {
  update (progress: TransferProgress): void
  /** Prints the summary line: the transfer completed. */
  finish (): void
  /** Ends a redrawn line without a summary: the transfer failed or was interrupted. */
  cancel (): void
}

const BAR_WIDTH = 24
const CLEAR_TO_END = '\x1b[K'

/** 5 s, 2m05s, 1h02m. */
export function formatDuration (ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}

function formatRate (bytesPerSecond: number | undefined): string {
  return bytesPerSecond == null ? '-- /s' : `${formatBytes(Math.round(bytesPerSecond))}/s`
}

function formatEta (rate: number | undefined, remaining: number): string {
  if (remaining <= 0) return '0s'
  return rate == null || rate <= 0 ? '--' : formatDuration(remaining / rate * 1000)
}

function bar (fraction: number): string {
  const filled = Math.round(fraction * BAR_WIDTH)
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`
}

/**
 * Shows a transfer's progress. On a terminal: one line, redrawn in place, with a bar, bytes
 * done of total, the recent rate and an ETA. Elsewhere (a log, a pipe): a plain line at most
 * every `plainIntervalMs`. Both end with a summary line from `finish()`.
 */
export function createProgressReporter (options: ProgressReporterOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? (() => performance.now())
  const tty = stream.isTTY === true
  const interval = tty ? (options.ttyIntervalMs ?? DEFAULT_TTY_PROGRESS_INTERVAL_MS) : (options.plainIntervalMs ?? DEFAULT_PLAIN_PROGRESS_INTERVAL_MS)
  const startedAt = now()
  let lastShownAt = startedAt
  let latest: TransferProgress = { bytes: 0, totalBytes: 0 }
  const samples: Array<{ at: number, bytes: number }> = [{ at: startedAt, bytes: 0 }]
  let drawn = false
  let ended = false

  const rate = (): number | undefined => {
    const first = samples[0]
    const last = samples[samples.length - 1]
    if (first == null || last == null || last.at - first.at <= 0) return undefined
    return (last.bytes - first.bytes) / ((last.at - first.at) / 1000)
  }

  const describe = (): { fraction: number, amounts: string, rate: string, eta: string } => {
    const { bytes, totalBytes } = latest
    const current = rate()
    return {
      fraction: totalBytes > 0 ? Math.min(1, bytes / totalBytes) : 1,
      amounts: `${formatBytes(bytes)} / ${formatBytes(totalBytes)}`,
      rate: formatRate(current),
      eta: formatEta(current, totalBytes - bytes)
    }
  }

  const draw = (): void => {
    const d = describe()
    const percent = `${Math.floor(d.fraction * 100)}%`.padStart(4)
    let line = `${options.label} ${bar(d.fraction)} ${percent}  ${d.amounts}  ${d.rate}  ETA ${d.eta}`
    if (stream.columns != null && stream.columns > 1) line = line.slice(0, stream.columns - 1)
    stream.write(`\r${line}${CLEAR_TO_END}`)
    drawn = true
  }

  const printPlain = (): void => {
    const d = describe()
    stream.write(`${options.label}: ${Math.floor(d.fraction * 100)}% ${d.amounts}, ${d.rate}, ETA ${d.eta}\n`)
  }

  return {
    update (progress) {
      if (ended) return
      const at = now()
      latest = progress
      samples.push({ at, bytes: progress.bytes })
      // Keep one sample from just before the window, so the rate always spans it.
      while (samples.length > 2 && at - (samples[1]?.at ?? at) >= PROGRESS_RATE_WINDOW_MS) samples.shift()
      if (at - lastShownAt < interval) return
      lastShownAt = at
      if (tty) draw()
      else printPlain()
    },

    finish () {
      if (ended) return
      ended = true
      const elapsed = now() - startedAt
      const average = elapsed > 0 ? latest.bytes / (elapsed / 1000) : undefined
      const summary = `${options.label}: ${formatBytes(latest.bytes)} in ${formatDuration(elapsed)} (${formatRate(average)})`
      stream.write(tty ? `\r${summary}${CLEAR_TO_END}\n` : `${summary}\n`)
    },

    cancel () {
      if (ended) return
      ended = true
      if (tty && drawn) stream.write('\n')
    }
  }
}
