import { anchorFleetSpecSchema } from '@meganet/contracts'
import { describe, expect, it } from 'vitest'
import { announceConfigMap, announceEntry, hostMultiaddr } from './announce-addresses.js'
import type { AnchorPlacement } from './announce-addresses.js'
import type { AnchorFleet, AnchorFleetSpecInput } from '@meganet/contracts'

/** A spec with this exposure; browsers as given (default: WebRTC-direct on, no WSS). */
const exposure = (input: NonNullable<AnchorFleetSpecInput['exposure']>, browser?: AnchorFleetSpecInput['browser']): AnchorFleet['spec'] =>
  anchorFleetSpecSchema.parse({ exposure: input, ...(browser != null ? { browser } : {}) })
const tcpOnly = { webrtcDirect: false }

const placed: AnchorPlacement = {
  pod: 'eu-anchor-1',
  nodeName: 'node-a',
  nodeAddresses: [{ type: 'InternalIP', address: '10.0.0.7' }, { type: 'ExternalIP', address: '203.0.113.7' }, { type: 'Hostname', address: 'node-a' }],
  service: { nodePorts: { 'p2p-tcp': 31001, 'p2p-ws': 31002, 'p2p-webrtc': 31003, 'p2p-webrtc-r': 30517 }, ingress: [{ ip: '198.51.100.9' }, { hostname: 'lb.example.net' }] }
}

describe('announceEntry', () => {
  it('announces nothing for ClusterIP: anchors keep their listen addresses', () => {
    expect(announceEntry(exposure({ type: 'ClusterIP' }), placed)).toBeUndefined()
  })

  it('announces the node\'s external address and the Service\'s nodePorts for NodePort, pinned to that node', () => {
    expect(announceEntry(exposure({ type: 'NodePort' }, tcpOnly), placed)).toEqual({
      node: 'node-a', addresses: ['/ip4/203.0.113.7/tcp/31001', '/ip4/203.0.113.7/tcp/31002/ws']
    })
    // The preference order is the fleet's: InternalIP first here.
    expect(announceEntry(exposure({ type: 'NodePort', nodeAddressTypes: ['InternalIP'] }), placed)?.addresses[0]).toBe('/ip4/10.0.0.7/tcp/31001')
  })

  it('announces both WebRTC-direct UDP ports, and for NodePort which of the anchor\'s ports each nodePort leads to', () => {
    expect(announceEntry(exposure({ type: 'NodePort' }), placed)).toEqual({
      node: 'node-a',
      addresses: ['/ip4/203.0.113.7/tcp/31001', '/ip4/203.0.113.7/tcp/31002/ws', '/ip4/203.0.113.7/udp/31003/webrtc-direct', '/ip4/203.0.113.7/udp/30517/webrtc-direct'],
      udpPorts: { 31003: 4003, 30517: 4004 }
    })
    expect(announceEntry(exposure({ type: 'HostPort' }), placed)?.addresses.slice(2)).toEqual(['/ip4/203.0.113.7/udp/4003/webrtc-direct', '/ip4/203.0.113.7/udp/4004/webrtc-direct'])
  })

  it('announces WebSocket over TLS beside plain WebSocket when the fleet has a WSS Secret', () => {
    expect(announceEntry(exposure({ type: 'LoadBalancer' }, { webrtcDirect: false, wssSecretName: 'anchors-tls' }), { ...placed, service: { nodePorts: {}, ingress: [{ hostname: 'lb.example.net' }] } })).toEqual({
      addresses: ['/dns/lb.example.net/tcp/4001', '/dns/lb.example.net/tcp/4002/ws', '/dns/lb.example.net/tcp/4002/tls/ws']
    })
  })

  it('announces the node address and the container ports for HostPort', () => {
    expect(announceEntry(exposure({ type: 'HostPort' }, tcpOnly), placed)).toEqual({
      node: 'node-a', addresses: ['/ip4/203.0.113.7/tcp/4001', '/ip4/203.0.113.7/tcp/4002/ws']
    })
  })

  it('announces every load balancer ingress, IP or hostname, with no node pin', () => {
    expect(announceEntry(exposure({ type: 'LoadBalancer' }, tcpOnly), placed)).toEqual({
      addresses: ['/ip4/198.51.100.9/tcp/4001', '/ip4/198.51.100.9/tcp/4002/ws', '/dns/lb.example.net/tcp/4001', '/dns/lb.example.net/tcp/4002/ws']
    })
  })

  it('waits (undefined) until what it needs is known', () => {
    expect(announceEntry(exposure({ type: 'NodePort' }), { pod: 'p' })).toBeUndefined()
    expect(announceEntry(exposure({ type: 'NodePort' }), { ...placed, service: { nodePorts: { 'p2p-tcp': 31001, 'p2p-ws': 31002 }, ingress: [] } })).toBeUndefined()
    expect(announceEntry(exposure({ type: 'HostPort', nodeAddressTypes: ['ExternalDNS'] }), placed)).toBeUndefined()
    expect(announceEntry(exposure({ type: 'LoadBalancer' }), { ...placed, service: { nodePorts: {}, ingress: [] } })).toBeUndefined()
  })

  it('writes multiaddr hosts by family', () => {
    expect([hostMultiaddr('1.2.3.4'), hostMultiaddr('2001:db8::1'), hostMultiaddr('a.example')]).toEqual(['/ip4/1.2.3.4', '/ip6/2001:db8::1', '/dns/a.example'])
  })
})

describe('announceConfigMap', () => {
  it('holds one JSON entry per pod, owned by the fleet', () => {
    const fleet: AnchorFleet = { apiVersion: 'meganet.io/v1alpha1', kind: 'AnchorFleet', metadata: { name: 'eu', namespace: 'mesh', uid: 'u1' }, spec: anchorFleetSpecSchema.parse({}) }
    const map = announceConfigMap(fleet, { 'eu-anchor-0': { node: 'n', addresses: ['/ip4/1.2.3.4/tcp/1'] } })
    expect(map.metadata).toMatchObject({ name: 'eu-anchor-announce', namespace: 'mesh', ownerReferences: [{ kind: 'AnchorFleet', name: 'eu', uid: 'u1', controller: true }] })
    expect(map.data).toEqual({ 'eu-anchor-0': '{"node":"n","addresses":["/ip4/1.2.3.4/tcp/1"]}' })
  })
})
