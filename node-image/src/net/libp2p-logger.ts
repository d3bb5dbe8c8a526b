import type { ComponentLogger, Logger } from '@libp2p/interface'

const ignore = (): void => {}

/** A logger that writes nothing, whatever the scope: one object for all of libp2p. */
const SILENT: Logger = Object.assign(ignore, { error: ignore, trace: ignore, enabled: false, newScope: () => SILENT })

/**
 * The namespaces libp2p's own debug logging (`debug`, `weald`) would print: `DEBUG` in Node,
 * `localStorage.debug` in browsers, as those libraries read them.
 */
export function libp2pDebugNamespaces (): string | undefined {
  const scope = globalThis as { process?: { env?: Record<string, string | undefined> }, localStorage?: { getItem: (key: string) => string | null } }
  return scope.process?.env?.DEBUG ?? scope.localStorage?.getItem('debug') ?? undefined
}

/**
 * libp2p's `logger` option: nothing to set while no debug namespace is, or a silent logger.
 * libp2p builds two or three `debug` loggers for every connection, stream and protocol
 * negotiation even with logging off: 1.9% of an anchor's CPU per join and 54 KiB of its
 * allocation. With `DEBUG` set, libp2p's own logger prints as before.
 */
export function libp2pLoggerOption (namespaces = libp2pDebugNamespaces()): { logger?: ComponentLogger } {
  if (namespaces != null && namespaces.trim() !== '') return {}
  return { logger: { forComponent: () => SILENT } }
}
