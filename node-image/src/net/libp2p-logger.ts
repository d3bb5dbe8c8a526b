import type { ComponentLogger, Logger } from '@libp2p/interface'

const ignore = (): void => {}

/** A logger that writes nothing, whatever the scope: one object for all of libp2p. */
const SILENT: Logger = Object.assign(ignore, { error: ignore, trace: ignore, enabled: false, newScope: () => SILENT })

/** Where `debug`/`weald` read their namespaces: the environment in Node, `localStorage` in browsers. */
export interface DebugScope {
  readonly process?: { readonly env?: Record<string, string | undefined> }
  readonly localStorage?: { readonly getItem?: unknown }
}

/**
 * The namespaces libp2p's own debug logging would print: `DEBUG` in Node, `localStorage.debug`
 * in browsers. Reading `localStorage` throws where storage is blocked (sandboxed frames), and
 * Node 25 has one without `getItem`: either means none.
 */
export function libp2pDebugNamespaces (scope: DebugScope = globalThis): string | undefined {
  if (scope.process != null) return scope.process.env?.DEBUG
  try {
    const getItem = scope.localStorage?.getItem
    if (typeof getItem !== 'function') return undefined
    const value = (getItem as (key: string) => unknown).call(scope.localStorage, 'debug')
    return typeof value === 'string' ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * libp2p's `logger` option: nothing to set while a debug namespace is, or a silent logger.
 * libp2p builds two or three `debug` loggers for every connection, stream and protocol
 * negotiation even with logging off: 1.9% of an anchor's CPU per join and 54 KiB of its
 * allocation. With `DEBUG` set, libp2p's own logger prints as before.
 */
export function libp2pLoggerOption (namespaces = libp2pDebugNamespaces()): { logger?: ComponentLogger } {
  if (namespaces != null && namespaces.trim() !== '') return {}
  return { logger: { forComponent: () => SILENT } }
}
