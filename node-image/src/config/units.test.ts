import { describe, expect, it } from 'vitest'
import { parseDuration, parseDurationLimit, parseSize, parseSizeLimit } from './units.js'

describe('units', () => {
  it('parses sizes in SI and binary units', () => {
    expect(parseSize('512')).toBe(512)
    expect(parseSize('128KiB')).toBe(131072)
    expect(parseSize('4 MB')).toBe(4_000_000)
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3)
    expect(parseSize('12 parsecs')).toBeUndefined()
    expect(parseSize('-1')).toBeUndefined()
  })

  it('parses durations, including compound ones', () => {
    expect(parseDuration('250')).toBe(250)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('soon')).toBeUndefined()
    expect(parseDuration('5s garbage')).toBeUndefined()
  })

  it('reads "unlimited" as no limit', () => {
    expect(parseSizeLimit('unlimited')).toBeNull()
    expect(parseDurationLimit('none')).toBeNull()
    expect(parseSizeLimit('1KiB')).toBe(1024)
  })
})
