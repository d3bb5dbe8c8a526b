import tty from 'node:tty'
import { defaultLogger } from '@libp2p/logger'
import { describe, expect, it, vi } from 'vitest'

describe('the weald logger patch (patches/README.md)', () => {
  it('asks whether stderr is a TTY once, not for every logger libp2p creates', () => {
    const isatty = vi.spyOn(tty, 'isatty')
    try {
      // libp2p makes loggers like these for every connection and stream (newScope).
      for (let i = 0; i < 20; i++) defaultLogger().forComponent(`meganet-test:${i}`).newScope('stream')
      // Unpatched: an isatty() system call for each logger (log, error, trace), 80 here.
      expect(isatty.mock.calls.length).toBeLessThanOrEqual(1)
    } finally {
      isatty.mockRestore()
    }
  })
})
