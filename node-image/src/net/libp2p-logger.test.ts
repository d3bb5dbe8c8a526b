import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { libp2pDebugNamespaces, libp2pLoggerOption } from './libp2p-logger.js'
import { createPeerLibp2p } from '../peer/peer-libp2p.js'

describe('libp2pLoggerOption', () => {
  it('leaves libp2p its own logger while a debug namespace is set', () => {
    expect(libp2pLoggerOption('libp2p:*')).toEqual({})
  })

  it('gives one disabled logger for every component and scope when none is', () => {
    for (const namespaces of [undefined, '', '  ']) {
      const { logger } = libp2pLoggerOption(namespaces)
      const log = logger!.forComponent('libp2p:connection')
      expect(log.enabled).toBe(false)
      expect(log.newScope('stream')).toBe(log)
      expect(logger!.forComponent('libp2p:yamux')).toBe(log)
      expect(() => { log('a %s', 'message'); log.error('an error'); log.trace('a trace') }).not.toThrow()
    }
  })
})

describe('the peer library\'s libp2p node', () => {
  afterEach(() => { vi.unstubAllEnvs() })

  const peerNode = async (): Promise<Awaited<ReturnType<typeof createPeerLibp2p>>> =>
    await createPeerLibp2p({ privateKey: await generateKeyPair('Ed25519'), relays: 1, listenTcp: false, allowPrivateAddresses: true })

  it('logs through the silent logger unless DEBUG is set, and through libp2p\'s own when it is', async () => {
    vi.stubEnv('DEBUG', '')
    const quiet = await peerNode()
    expect(quiet.logger.forComponent('libp2p:a')).toBe(quiet.logger.forComponent('libp2p:b'))
    vi.stubEnv('DEBUG', 'meganet-test-nothing')
    const loud = await peerNode()
    expect(loud.logger.forComponent('libp2p:a')).not.toBe(loud.logger.forComponent('libp2p:b'))
  })
})

describe('libp2pDebugNamespaces', () => {
  it('reads DEBUG where there is a process, and localStorage.debug where there is none', () => {
    expect(libp2pDebugNamespaces({ process: { env: { DEBUG: 'libp2p:*' } }, localStorage: { getItem: () => 'other' } })).toBe('libp2p:*')
    expect(libp2pDebugNamespaces({ process: { env: {} }, localStorage: { getItem: () => 'other' } })).toBeUndefined()
    expect(libp2pDebugNamespaces({ localStorage: { getItem: (key: string) => key === 'debug' ? 'libp2p:dht*' : null } })).toBe('libp2p:dht*')
    expect(libp2pDebugNamespaces({ localStorage: { getItem: () => null } })).toBeUndefined()
  })

  it('takes blocked or incomplete storage for no namespaces', () => {
    const blocked = Object.defineProperty({}, 'localStorage', { get: () => { throw new DOMException('The operation is insecure.', 'SecurityError') } })
    expect(libp2pDebugNamespaces(blocked)).toBeUndefined()
    expect(libp2pDebugNamespaces({ localStorage: { getItem: () => { throw new DOMException('denied', 'SecurityError') } } })).toBeUndefined()
    expect(libp2pDebugNamespaces({ localStorage: {} })).toBeUndefined()
    expect(libp2pDebugNamespaces({})).toBeUndefined()
  })
})
