import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ProfileFormatError, asCpuProfile, processName, summarizeProfiles, summarizeWindow } from './cpu-profile.js'
import type { CpuProfile } from './cpu-profile.js'

const frame = (functionName: string, url = '', lineNumber = 0): { functionName: string, url: string, lineNumber: number } => ({ functionName, url, lineNumber })

/** Samples 1 ms apart from t = 1,000,000 µs: idle, then `update` ×3, GC, `send` ×2, idle. */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('update', 'node:internal/crypto/cipher', 153) },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('send', 'file:///work/main/node_modules/@libp2p/utils/dist/src/abstract-message-stream.js', 136) },
    { id: 6, callFrame: frame('', 'file:///work/main/node-image/dist/cli/main.js', 0) }
  ],
  startTime: 999_000,
  samples: [2, 3, 3, 3, 4, 5, 5, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
}

describe('CPU profile summaries', () => {
  it('counts self time by function within the window only, idle apart', () => {
    const all = summarizeWindow(PROFILE, { label: 'all', startUs: 0, endUs: Number.MAX_SAFE_INTEGER })
    expect(all).toEqual({
      label: 'all',
      busy: 6,
      idle: 2,
      top: [
        { frame: 'update node:internal/crypto/cipher:154', samples: 3 },
        { frame: 'send @libp2p/utils/dist/src/abstract-message-stream.js:137', samples: 2 },
        { frame: '(garbage collector)', samples: 1 }
      ]
    })
    // The samples at 1,004,000 (GC) and 1,005,000 (send) only.
    const late = summarizeWindow(PROFILE, { label: 'late', startUs: 1_004_000, endUs: 1_005_500 })
    expect(late.busy).toBe(2)
    expect(late.top.map(t => t.frame)).toEqual(['(garbage collector)', 'send @libp2p/utils/dist/src/abstract-message-stream.js:137'])
    expect(summarizeWindow(PROFILE, { label: 'all', startUs: 0, endUs: Number.MAX_SAFE_INTEGER }, 1).top).toHaveLength(1)
  })

  it('names a profile by the entry script of this repository it ran', () => {
    expect(processName(PROFILE)).toBe('anchor')
    const benchScripts = (...names: string[]): CpuProfile => ({ ...PROFILE, nodes: names.map((name, i) => ({ id: i + 1, callFrame: frame('', `file:///work/main/bench/dist/${name}`) })) })
    expect(processName(benchScripts('reservation-workers.js', 'bench-profiler.js', 'main.js'))).toBe('bench')
    expect(processName(benchScripts('stats.js', 'reservation-worker.js'))).toBe('worker reservation-worker')
    expect(processName({ ...PROFILE, nodes: [] })).toBe('other')
  })

  it('refuses what is not a CPU profile, naming the file', () => {
    expect(() => asCpuProfile({ nodes: [] }, 'x.cpuprofile')).toThrow(ProfileFormatError)
    expect(() => asCpuProfile({ ...PROFILE, timeDeltas: [1] }, 'x.cpuprofile')).toThrow(/x\.cpuprofile: .*8 samples but 1 time deltas/)
    expect(() => asCpuProfile({ ...PROFILE, nodes: [{ id: 1 }] }, 'y.cpuprofile')).toThrow(/y\.cpuprofile/)
    expect(asCpuProfile(JSON.parse(JSON.stringify(PROFILE)), 'ok')).toEqual(PROFILE)
  })

  it('writes a section per window with each busy process\'s functions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpu-profile-test-'))
    try {
      await writeFile(join(dir, 'CPU.1.cpuprofile'), JSON.stringify(PROFILE))
      await writeFile(join(dir, 'notes.txt'), 'not a profile')
      const text = await summarizeProfiles(dir, [{ label: 'put', startUs: 1_000_500, endUs: 1_003_500 }, { label: 'quiet', startUs: 0, endUs: 10 }], { minBusy: 1 })
      expect(text).toContain('## put (0.0 s)')
      expect(text).toContain('### anchor (CPU.1.cpuprofile): 3 busy samples, 0 idle')
      expect(text).toContain('| 100.0% | `update node:internal/crypto/cipher:154` |')
      // A window in which no process was busy gets its heading and nothing else; so does one with less than minBusy.
      expect(text.slice(text.indexOf('## quiet')).split('\n').filter(Boolean)).toEqual(['## quiet (0.0 s)'])
      expect(await summarizeProfiles(dir, [{ label: 'put', startUs: 1_000_500, endUs: 1_003_500 }], { minBusy: 4 })).not.toContain('###')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
