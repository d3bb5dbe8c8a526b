/** The transports a connection can use, as the `transport` label of metrics and in status. */
export const TRANSPORT_NAMES = ['tcp', 'websocket', 'websocket-secure', 'webrtc-direct', 'webrtc', 'circuit', 'other'] as const
export type TransportName = (typeof TRANSPORT_NAMES)[number]

/** Which transport a connection's remote multiaddr says it uses (a relayed one is `circuit`). */
export function transportOf (address: string): TransportName {
  if (address.includes('/p2p-circuit')) return 'circuit'
  if (address.includes('/webrtc-direct')) return 'webrtc-direct'
  if (address.includes('/webrtc')) return 'webrtc'
  if (address.includes('/tls/ws') || address.includes('/wss')) return 'websocket-secure'
  if (address.includes('/ws')) return 'websocket'
  if (address.includes('/tcp/')) return 'tcp'
  return 'other'
}

/** Addresses a browser can dial: WebRTC-direct with a certhash, WebSocket over TLS, and plain WebSocket (http:// pages only). */
export function isBrowserDialable (address: string): boolean {
  if (address.includes('/p2p-circuit')) return false
  const transport = transportOf(address)
  return (transport === 'webrtc-direct' && address.includes('/certhash/')) || transport === 'websocket-secure'
}
