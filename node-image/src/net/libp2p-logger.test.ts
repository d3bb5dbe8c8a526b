import { describe, expect, it, vi } from 'vitest'
import { libp2pLoggerOption } from './libp2p-logger.js'

describe('libp2pLoggerOption', () => {
  it('leaves libp2p its own logger while a debug namespace is set', () => {
    expect(libp2pLoggerOption('libp2p:*')).toEqual({})
  })

  it('gives one silent logger for every component and scope when none is', () => {
    for (const namespaces of [undefined, '', '  ']) {
      const { logger } = libp2pLoggerOption(namespaces)
      const log = logger!.forComponent('libp2p:connection')
      expect(log.enabled).toBe(false)
      expect(log.newScope('stream')).toBe(log)
      expect(logger!.forComponent('libp2p:yamux')).toBe(log)
      const write = vi.spyOn(process.stderr, 'write')
      log('a %s', 'message')
      log.error('an error')
      log.trace('a trace')
      expect(write).not.toHaveBeenCalled()
      write.mockRestore()
    }
  })
})
