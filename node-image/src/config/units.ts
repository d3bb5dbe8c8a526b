/** Parsers for human-friendly sizes and durations used in flags, env vars and config files. */

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000
}

/** Words that mean "no limit" where a limit may be lifted. */
export const UNLIMITED_WORDS = ['unlimited', 'none', 'off'] as const

function isUnlimitedWord (text: string): boolean {
  return (UNLIMITED_WORDS as readonly string[]).includes(text.toLowerCase())
}

/** `"128KiB"` → 131072, `"4MB"` → 4000000, `"512"` → 512. Returns undefined when it cannot parse. */
export function parseSize (text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (match == null) return undefined
  const factor = SIZE_UNITS[(match[2] ?? '').toLowerCase()]
  if (factor == null) return undefined
  const value = Number(match[1]) * factor
  return Number.isSafeInteger(Math.round(value)) ? Math.round(value) : undefined
}

/** `"90s"` → 90000, `"2m"` → 120000, `"1h30m"` → 5400000, `"250"` → 250 (ms). */
export function parseDuration (text: string): number | undefined {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const parts = trimmed.match(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)
  if (parts == null || parts.join('') !== trimmed) return undefined
  let total = 0
  for (const part of parts) {
    const [, value, unit] = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(part) ?? []
    total += Number(value) * (DURATION_UNITS[unit ?? ''] ?? Number.NaN)
  }
  return Number.isFinite(total) ? Math.round(total) : undefined
}

/** A size that may be lifted: `"unlimited"` → null. */
export function parseSizeLimit (text: string): number | null | undefined {
  return isUnlimitedWord(text) ? null : parseSize(text)
}

/** A duration that may be lifted: `"unlimited"` → null. */
export function parseDurationLimit (text: string): number | null | undefined {
  return isUnlimitedWord(text) ? null : parseDuration(text)
}

/** Human-readable byte counts: 1536 → "1.5 KiB". */
export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}
