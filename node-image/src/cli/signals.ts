import type { Logger } from '../logging/logger.js'

/** Resolves with the first SIGINT or SIGTERM from now on: the command is asked to stop. */
export async function nextSignal (): Promise<NodeJS.Signals> {
  return await new Promise<NodeJS.Signals>(resolve => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
}

/** The shell's convention for a command stopped by a signal: 128 + its number (130 for Ctrl-C). */
export const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 }

/**
 * Waits for SIGTERM or SIGINT, runs `stop`, and exits. A second signal, or `stop` taking
 * longer than the grace period plus a margin, exits at once.
 */
export async function runUntilSignal (log: Logger, stop: () => Promise<void>, graceMs: number): Promise<never> {
  const signal = await nextSignal()
  log.info({ signal, graceMs }, 'stopping')
  const force = (): never => process.exit(1)
  process.once('SIGTERM', force)
  process.once('SIGINT', force)
  setTimeout(() => { log.warn('grace period over, exiting'); process.exit(1) }, graceMs + 5_000).unref()
  await stop()
  process.exit(0)
}
