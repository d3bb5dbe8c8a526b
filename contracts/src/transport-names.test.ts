import { describe, expect, it } from 'vitest'
import { isBrowserDialable, transportOf } from './transport-names.js'

describe('transport names', () => {
  it('names each transport from a remote address', () => {
    expect(transportOf('/ip4/1.2.3.4/tcp/4001')).toBe('tcp')
    expect(transportOf('/ip4/1.2.3.4/tcp/4002/ws')).toBe('websocket')
    expect(transportOf('/ip4/1.2.3.4/tcp/4002/tls/ws')).toBe('websocket-secure')
    expect(transportOf('/dns4/a.example/tcp/443/wss')).toBe('websocket-secure')
    expect(transportOf('/ip4/1.2.3.4/udp/4003/webrtc-direct/certhash/uEiA')).toBe('webrtc-direct')
    expect(transportOf('/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWA/p2p-circuit/webrtc')).toBe('circuit')
    expect(transportOf('/webrtc')).toBe('webrtc')
  })

  it('says which addresses an HTTPS page can dial', () => {
    expect(isBrowserDialable('/ip4/1.2.3.4/udp/4003/webrtc-direct/certhash/uEiA/p2p/12D3KooWA')).toBe(true)
    expect(isBrowserDialable('/ip4/1.2.3.4/udp/4003/webrtc-direct')).toBe(false)
    expect(isBrowserDialable('/dns4/a.example/tcp/4002/tls/ws/p2p/12D3KooWA')).toBe(true)
    expect(isBrowserDialable('/ip4/1.2.3.4/tcp/4002/ws')).toBe(false)
    expect(isBrowserDialable('/ip4/1.2.3.4/tcp/4001')).toBe(false)
  })
})
