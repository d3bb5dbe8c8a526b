import { parseDuration, parseDurationLimit, parseSize, parseSizeLimit } from './units.js'
import type { OptionKind } from './anchor-options.js'

export type ParsedValue = string | number | boolean | null | string[]

export type ParseResult = { ok: true, value: ParsedValue } | { ok: false, message: string }

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, 1: true, 0: false, on: true }

/** Reads one option's text (from a flag or env var) as its kind says. */
export function parseOptionText (kind: OptionKind, text: string): ParseResult {
  const fail = (message: string): ParseResult => ({ ok: false, message: `${message}, got ${JSON.stringify(text)}` })
  switch (kind) {
    case 'string':
      return { ok: true, value: text }
    case 'port':
    case 'count': {
      if (!/^\s*\d+\s*$/.test(text)) return fail(kind === 'port' ? 'expected a port number 0-65535' : 'expected a whole number >= 0')
      return { ok: true, value: Number(text) }
    }
    case 'size': {
      const value = parseSize(text)
      return value === undefined ? fail('expected a size such as 512MiB or 10GiB') : { ok: true, value }
    }
    case 'size-limit': {
      const value = parseSizeLimit(text)
      return value === undefined ? fail('expected a size such as 512KiB, 64MiB or "unlimited"') : { ok: true, value }
    }
    case 'duration': {
      const value = parseDuration(text)
      return value === undefined ? fail('expected a duration such as 500ms, 30s, 2m or 1h') : { ok: true, value }
    }
    case 'duration-limit': {
      const value = parseDurationLimit(text)
      return value === undefined ? fail('expected a duration such as 30s or 2m, or "unlimited"') : { ok: true, value }
    }
    case 'boolean': {
      const value = BOOLEAN_WORDS[text.trim().toLowerCase()]
      return value === undefined ? fail('expected true or false') : { ok: true, value }
    }
    case 'list':
      return { ok: true, value: text.split(',').map(s => s.trim()).filter(s => s.length > 0) }
    case 'fraction': {
      const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text)
      const value = match == null ? Number.NaN : Number(match[1]) / (match[2] === '%' ? 100 : 1)
      return Number.isFinite(value) && value > 0 && value <= 1 ? { ok: true, value } : fail('expected a share such as 0.1 or 10% (above 0, at most 1)')
    }
  }
}

/** A value from a config file: JSON types are taken as they are, text is read as a flag would be. */
export function normalizeFileValue (kind: OptionKind, value: unknown): ParseResult {
  if (typeof value === 'string' && kind !== 'list') return parseOptionText(kind, value)
  if (kind === 'size-limit' || kind === 'duration-limit') {
    if (value === null) return { ok: true, value: null }
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return { ok: true, value }
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return { ok: true, value }
  return { ok: false, message: `unsupported value ${JSON.stringify(value)}` }
}
