import { describe, expect, it } from 'vitest'
import { DEFAULT_PLAIN_PROGRESS_INTERVAL_MS, DEFAULT_TTY_PROGRESS_INTERVAL_MS } from './constants.js'
import { createProgressReporter, formatDuration } from './progress.js'
import type { ProgressStream } from './progress.js'

const MiB = 1024 * 1024

function fakeTerminal (isTTY: boolean, columns?: number): ProgressStream & { output: string } {
  const stream = { isTTY, columns, output: '', write (text: string) { stream.output += text } }
  return stream
}

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1_000
  return { now: () => t, advance: ms => { t += ms } }
}

describe('progress on a terminal', () => {
  it('redraws one line with a bar, amounts, rate and ETA, then a summary', () => {
    const stream = fakeTerminal(true)
    const time = clock()
    const progress = createProgressReporter({ label: 'put a.bin', stream, now: time.now })
    time.advance(1000)
    progress.update({ bytes: 2 * MiB, totalBytes: 10 * MiB })
    expect(stream.output).toBe('\rput a.bin [#####-------------------]  20%  2.0 MiB / 10.0 MiB  2.0 MiB/s  ETA 4s\x1b[K')
    time.advance(1000)
    progress.update({ bytes: 10 * MiB, totalBytes: 10 * MiB })
    progress.finish()
    const lines = stream.output.split('\r')
    expect(lines[2]).toBe('put a.bin [########################] 100%  10.0 MiB / 10.0 MiB  5.0 MiB/s  ETA 0s\x1b[K')
    expect(lines[3]).toBe('put a.bin: 10.0 MiB in 2s (5.0 MiB/s)\x1b[K\n')
    expect(stream.output.match(/\n/g)).toHaveLength(1)
  })

  it('redraws at most every tty interval', () => {
    const stream = fakeTerminal(true)
    const time = clock()
    const progress = createProgressReporter({ label: 'get', stream, now: time.now })
    for (let i = 1; i <= 100; i++) {
      time.advance(DEFAULT_TTY_PROGRESS_INTERVAL_MS / 10)
      progress.update({ bytes: i, totalBytes: 100 })
    }
    expect(stream.output.split('\r').length - 1).toBe(10)
  })

  it('fits the line to the terminal width', () => {
    const stream = fakeTerminal(true, 30)
    const time = clock()
    const progress = createProgressReporter({ label: 'put a-rather-long-file-name.iso', stream, now: time.now })
    time.advance(1000)
    progress.update({ bytes: 1, totalBytes: 2 })
    expect(stream.output).toBe('\rput a-rather-long-file-name.i\x1b[K')
  })

  it('ends the line without a summary when cancelled', () => {
    const stream = fakeTerminal(true)
    const time = clock()
    const progress = createProgressReporter({ label: 'get', stream, now: time.now })
    time.advance(1000)
    progress.update({ bytes: 1, totalBytes: 2 })
    progress.cancel()
    progress.finish()
    expect(stream.output.endsWith('\x1b[K\n')).toBe(true)
    expect(stream.output).not.toContain('in 1s')
  })
})

describe('progress without a terminal', () => {
  it('prints plain lines at most every interval, then a summary', () => {
    const stream = fakeTerminal(false)
    const time = clock()
    const progress = createProgressReporter({ label: 'get b.bin', stream, now: time.now })
    for (let second = 1; second <= 12; second++) {
      time.advance(1000)
      progress.update({ bytes: second * MiB, totalBytes: 12 * MiB })
    }
    progress.finish()
    expect(stream.output).not.toContain('\r')
    expect(stream.output).not.toContain('\x1b')
    expect(stream.output.trimEnd().split('\n')).toEqual([
      'get b.bin: 41% 5.0 MiB / 12.0 MiB, 1.0 MiB/s, ETA 7s',
      'get b.bin: 83% 10.0 MiB / 12.0 MiB, 1.0 MiB/s, ETA 2s',
      'get b.bin: 12.0 MiB in 12s (1.0 MiB/s)'
    ])
    expect(DEFAULT_PLAIN_PROGRESS_INTERVAL_MS).toBe(5_000)
  })

  it('prints only the summary for a quick transfer, and nothing when cancelled', () => {
    const quick = fakeTerminal(false)
    const time = clock()
    const progress = createProgressReporter({ label: 'put empty', stream: quick, now: time.now })
    progress.update({ bytes: 0, totalBytes: 0 })
    progress.finish()
    expect(quick.output).toBe('put empty: 0 B in 0s (-- /s)\n')
    const failed = fakeTerminal(false)
    const other = createProgressReporter({ label: 'get', stream: failed, now: time.now })
    other.update({ bytes: 1, totalBytes: 2 })
    other.cancel()
    expect(failed.output).toBe('')
  })
})

describe('durations', () => {
  it('read as seconds, minutes or hours', () => {
    expect(formatDuration(4_400)).toBe('4s')
    expect(formatDuration(125_000)).toBe('2m05s')
    expect(formatDuration(3_720_000)).toBe('1h02m')
  })
})
