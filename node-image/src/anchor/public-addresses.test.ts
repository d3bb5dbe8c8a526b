import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { PublicAddresses } from './public-addresses.js'
import type { PublicAddressesInit } from './public-addresses.js'

function setup (listening: string[], init: Partial<PublicAddressesInit> = {}) {
  const confirmed: string[] = []
  const logs: string[] = []
  const log = { info: (_: unknown, msg: string) => { logs.push(`info ${msg}`) }, warn: (msg: string) => { logs.push(`warn ${msg}`) } }
  const service = new PublicAddresses({
    transportManager: { getAddrs: () => listening.map(a => multiaddr(a)) } as never,
    addressManager: { confirmObservedAddr: (a: { toString: () => string }, o: { type: string }) => { confirmed.push(`${o.type} ${a.toString()}`) } } as never
  }, { announce: [], privateNetwork: false, log: log as never, ...init })
  return { service, confirmed, logs }
}

describe('PublicAddresses', () => {
  it('confirms the public interface addresses an anchor listens on, and says so', () => {
    const { service, confirmed, logs } = setup(['/ip4/127.0.0.1/tcp/4001', '/ip4/11.18.0.10/tcp/4001', '/ip4/10.0.0.5/tcp/4001', '/ip4/11.18.0.10/tcp/4002/ws'])
    service.announceInterfaceAddresses()
    expect(confirmed).toEqual(['transport /ip4/11.18.0.10/tcp/4001', 'transport /ip4/11.18.0.10/tcp/4002/ws'])
    expect(logs[0]).toContain('announcing the public interface addresses')
  })

  it('leaves the addresses to --announce when it is set', () => {
    const { service, confirmed } = setup(['/ip4/11.18.0.10/tcp/4001'], { announce: ['/dns4/anchor.example.org/tcp/4001'] })
    service.announceInterfaceAddresses()
    expect(confirmed).toEqual([])
  })

  it('warns that outside peers cannot reach an anchor with only private addresses and no --announce', () => {
    const { service, logs } = setup(['/ip4/10.0.0.5/tcp/4001'])
    service.announceInterfaceAddresses()
    expect(logs).toEqual([expect.stringContaining('warn this anchor has no public address and no --announce')])
    const lan = setup(['/ip4/10.0.0.5/tcp/4001'], { privateNetwork: true })
    lan.service.announceInterfaceAddresses()
    expect(lan.logs).toEqual([])
  })
})
