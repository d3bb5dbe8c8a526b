import { pino } from 'pino'
import type { Logger } from 'pino'

export type { Logger }

/** Structured JSON logs on stderr, so stdout stays free for a command's own output. */
export function createLogger (level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2))
}
