import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { anchorConnectionGater } from './anchor-gater.js'

const PEER = '12D3KooWNj6z5PaqojfkhP1B2agrNsueG6JZ5RYx2jEA2SiNyAm2'

describe('anchorConnectionGater', () => {
  let admitting = true
  const gater = anchorConnectionGater({ relayHooks: { denyInboundRelayReservation: () => true, denyOutboundRelayedConnection: () => false }, admitting: () => admitting })

  it('refuses to dial WebRTC-direct and WebRTC addresses', async () => {
    expect(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/127.0.0.1/udp/34506/webrtc-direct/certhash/uEiARzsKq7MfwIc6fXH6cG9Zb0K-Ki8TLOSbkpLuh1x1HHw/p2p/${PEER}`))).toBe(true)
    expect(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}/p2p-circuit/webrtc/p2p/${PEER}`))).toBe(false)
  })

  it('dials TCP, WebSocket and relay circuits', async () => {
    for (const address of [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, `/dns4/anchor.example/tcp/443/wss/p2p/${PEER}`, `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}/p2p-circuit/p2p/${PEER}`]) {
      expect(await gater.denyDialMultiaddr?.(multiaddr(address))).toBe(false)
    }
  })

  it('keeps the relay guard\'s hooks', async () => {
    const peer = peerIdFromString(PEER)
    expect(await gater.denyInboundRelayReservation?.(peer)).toBe(true)
    expect(await gater.denyOutboundRelayedConnection?.(peer, peer)).toBe(false)
  })

  it('closes inbound connections before their handshake until the anchor admits them', async () => {
    const connection = { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001') } as unknown as Parameters<NonNullable<typeof gater.denyInboundConnection>>[0]
    admitting = false
    expect(await gater.denyInboundConnection?.(connection)).toBe(true)
    admitting = true
    expect(await gater.denyInboundConnection?.(connection)).toBe(false)
  })
})
