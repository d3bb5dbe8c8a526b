import type { Logger } from '../logging/logger.js'

/**
 * Waits for SIGTERM or SIGINT, runs `stop`, and exits. A second signal, or `stop` taking
 * longer than the grace period plus a margin, exits at once.
 */
export async function runUntilSignal (log: Logger, stop: () => Promise<void>, graceMs: number): Promise<never> {
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  log.info({ signal, graceMs }, 'stopping')
  const force = (): never => process.exit(1)
  process.once('SIGTERM', force)
  process.once('SIGINT', force)
  setTimeout(() => { log.warn('grace period over, exiting'); process.exit(1) }, graceMs + 5_000).unref()
  await stop()
  process.exit(0)
}
