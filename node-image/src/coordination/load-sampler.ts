import { statfs } from 'node:fs/promises'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { LoadReport } from '@meganet/contracts'
type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>

export interface LoadSource {
  connectedPeers: () => number
  reservations: () => number
  relayedBytesTotal: () => Promise<number>
  storedBytes: () => number
}

/** Measures what each heartbeat reports: rates over the interval since the previous sample. */
export class LoadSampler {
  private readonly source: LoadSource
  private readonly dataDir: string
  private readonly loopDelay: IntervalHistogram
  private lastSampleAt = Date.now()
  private lastRelayedBytes = 0

  constructor (source: LoadSource, dataDir: string) {
    this.source = source
    this.dataDir = dataDir
    this.loopDelay = monitorEventLoopDelay({ resolution: 20 })
    this.loopDelay.enable()
  }

  async sample (): Promise<LoadReport> {
    const now = Date.now()
    const relayed = await this.source.relayedBytesTotal()
    const seconds = Math.max(0.001, (now - this.lastSampleAt) / 1000)
    const rate = Math.max(0, relayed - this.lastRelayedBytes) / seconds
    this.lastSampleAt = now
    this.lastRelayedBytes = relayed
    // The 99th percentile of event-loop delay beyond the sampling resolution, in seconds.
    const lag = Math.max(0, this.loopDelay.percentile(99) / 1e9 - 0.02)
    this.loopDelay.reset()
    return {
      connectedPeers: this.source.connectedPeers(),
      reservations: this.source.reservations(),
      relayedBytesPerSecond: Math.round(rate),
      storedBytes: this.source.storedBytes(),
      freeDiskBytes: await this.freeDisk(),
      eventLoopLagSeconds: Number.isFinite(lag) ? lag : 0
    }
  }

  stop (): void {
    this.loopDelay.disable()
  }

  private async freeDisk (): Promise<number> {
    try {
      const stats = await statfs(this.dataDir)
      return stats.bavail * stats.bsize
    } catch {
      return 0
    }
  }
}
