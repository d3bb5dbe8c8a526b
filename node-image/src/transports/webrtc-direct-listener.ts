import { CODE_CERTHASH, CODE_WEBRTC_DIRECT, multiaddr } from '@multiformats/multiaddr'
import { webRTCDirect } from '@libp2p/webrtc'
import { TypedEventEmitter, serviceCapabilities, transportSymbol } from '@libp2p/interface'
import type { CertificateRotation } from './webrtc-direct-rotation.js'
import type { WebRTCDirectCertificate } from './webrtc-direct-certificates.js'
import type { WebRTCDirectTransportComponents } from '@libp2p/webrtc'
import type { CreateListenerOptions, Listener, ListenerEvents, Startable, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A WebRTC-direct listener for anchors whose certificates rotate (see {@link CertificateRotation}).
 *
 * A WebRTC-direct dialler checks the listener's certificate against the `/certhash/` it was
 * given, so one UDP port can serve one certificate only. The anchor therefore listens on two
 * ports that take turns: generation g is served on port `ports[g % 2]`. While two certificates
 * overlap, both ports serve and both addresses are announced; between rotations the other port
 * is closed. Each certificate is served by its own stock `webRTCDirect` transport.
 */
export interface RotatingWebRTCDirectInit {
  readonly rotation: CertificateRotation
  /** The two UDP ports, slot 0 and slot 1 (concrete: pick free ones before for tests). */
  readonly ports: readonly [number, number]
  /** Announced UDP port → one of `ports`, where a NodePort Service maps one to the other. */
  readonly announcedPorts?: ReadonlyMap<number, number>
  /**
   * Each port's limits on incoming connections: how many it holds from their first STUN binding
   * request until their handshake ends, in all and from one address (an IPv6 address's /64), and
   * how many one address may start a second. Each holds a native RTCPeerConnection before
   * libp2p's own limits apply (after ICE, DTLS and Noise); past these, new STUN requests are
   * dropped and the browser retransmits them.
   */
  readonly inboundLimits?: { readonly pending: number, readonly pendingPerHost: number, readonly perHostPerSecond: number }
}

function udpPort (address: Multiaddr): number | undefined {
  const udp = address.getComponents().find(c => c.name === 'udp')
  return udp?.value == null ? undefined : Number(udp.value)
}

function isWebRTCDirect (address: Multiaddr): boolean {
  const names = address.getComponents().map(c => c.name)
  return names.includes('udp') && names.includes('webrtc-direct')
}

function isStartable (value: unknown): value is Startable {
  return value != null && typeof (value as Partial<Startable>).start === 'function'
}

class SlotListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private readonly owner: RotatingWebRTCDirect
  private readonly options: CreateListenerOptions
  private address?: Multiaddr
  private slot = -1
  private inner?: { readonly certificate: WebRTCDirectCertificate, readonly transport: Transport, readonly listener: Listener }
  private serving: Promise<void> = Promise.resolve()

  constructor (owner: RotatingWebRTCDirect, options: CreateListenerOptions) {
    super()
    this.owner = owner
    this.options = options
  }

  async listen (address: Multiaddr): Promise<void> {
    this.address = address
    this.slot = this.owner.slotOf(address)
    this.owner.listeners.add(this)
    await this.refresh()
    this.safeDispatchEvent('listening')
  }

  /** Serves this slot's certificate, if any: a new generation replaces the listener of the old one. */
  async refresh (): Promise<void> {
    this.serving = this.serving.then(async () => {
      const certificate = this.owner.certificateFor(this.slot)
      if (certificate?.certhash === this.inner?.certificate.certhash) return
      await this.closeInner()
      if (certificate != null && this.address != null) {
        const transport = this.owner.transportFor(certificate)
        if (isStartable(transport)) await transport.start()
        const listener = transport.createListener(this.options)
        listener.addEventListener('error', event => { this.safeDispatchEvent('error', { detail: event.detail }) })
        await listener.listen(this.address)
        this.inner = { certificate, transport, listener }
      }
    })
    await this.serving
  }

  getAddrs (): Multiaddr[] {
    return this.inner?.listener.getAddrs() ?? []
  }

  /** Adds this slot's certhash to announced WebRTC-direct addresses with this slot's port, or one that leads to it. */
  updateAnnounceAddrs (addresses: Multiaddr[]): void {
    const certhash = this.inner?.certificate.certhash
    const port = this.address == null ? undefined : udpPort(this.address)
    if (certhash == null || port == null) return
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i] as Multiaddr
      const announced = isWebRTCDirect(address) ? udpPort(address) : undefined
      if (announced == null || (announced !== port && this.owner.announcedPortOf(announced) !== port)) continue
      const components = address.getComponents()
      const at = components.findIndex(c => c.code === CODE_WEBRTC_DIRECT)
      if (components[at + 1]?.code === CODE_CERTHASH) continue
      components.splice(at + 1, 0, { code: CODE_CERTHASH, name: 'certhash', value: certhash })
      addresses[i] = multiaddr(components)
    }
  }

  async close (): Promise<void> {
    this.owner.listeners.delete(this)
    await this.serving.catch(() => {})
    await this.closeInner()
    this.safeDispatchEvent('close')
  }

  private async closeInner (): Promise<void> {
    const inner = this.inner
    if (inner == null) return
    this.inner = undefined
    await inner.listener.close()
    if (isStartable(inner.transport)) await inner.transport.stop()
  }
}

class RotatingWebRTCDirect implements Transport, Startable {
  readonly [Symbol.toStringTag] = '@meganet/webrtc-direct-rotating'
  readonly [transportSymbol] = true
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']
  readonly listeners = new Set<SlotListener>()
  private readonly components: WebRTCDirectTransportComponents
  private readonly init: RotatingWebRTCDirectInit
  private readonly onChange = (): void => {
    for (const listener of this.listeners) {
      void listener.refresh().then(() => { listener.safeDispatchEvent('listening') }, (err: Error) => { listener.safeDispatchEvent('error', { detail: err }) })
    }
  }

  constructor (components: WebRTCDirectTransportComponents, init: RotatingWebRTCDirectInit) {
    this.components = components
    this.init = init
  }

  /** The anchor's own port an announced UDP port leads to, if a NodePort Service maps them. */
  announcedPortOf (announced: number): number | undefined {
    return this.init.announcedPorts?.get(announced)
  }

  start (): void {
    this.init.rotation.addEventListener('change', this.onChange)
  }

  stop (): void {
    this.init.rotation.removeEventListener('change', this.onChange)
  }

  slotOf (address: Multiaddr): number {
    const slot = this.init.ports.indexOf(udpPort(address) ?? -1)
    if (slot < 0) throw new Error(`${address.toString()} is not on one of the WebRTC-direct ports ${this.init.ports.join(', ')}`)
    return slot
  }

  certificateFor (slot: number): WebRTCDirectCertificate | undefined {
    return this.init.rotation.served().find(c => c.generation % 2 === slot)
  }

  transportFor (certificate: WebRTCDirectCertificate): Transport {
    return webRTCDirect({
      certificate: { privateKey: certificate.privateKeyPem, pem: certificate.certificatePem, certhash: certificate.certhash },
      // The browser dials the announced address; the anchor needs no STUN server (the default
      // would ask Google's, Twilio's, Cloudflare's and Mozilla's for every incoming browser).
      rtcConfiguration: { iceServers: [] },
      ...(this.init.inboundLimits != null
        ? {
            maxPendingConnections: this.init.inboundLimits.pending,
            maxPendingConnectionsPerHost: this.init.inboundLimits.pendingPerHost,
            inboundConnectionThreshold: this.init.inboundLimits.perHostPerSecond
          }
        : {})
    })(this.components)
  }

  async dial (): Promise<never> {
    return await Promise.reject(new Error('anchors do not dial WebRTC-direct'))
  }

  createListener (options: CreateListenerOptions): Listener {
    return new SlotListener(this, options)
  }

  listenFilter (addresses: Multiaddr[]): Multiaddr[] {
    return addresses.filter(a => isWebRTCDirect(a) && this.init.ports.includes(udpPort(a) ?? -1))
  }

  dialFilter (): Multiaddr[] {
    return []
  }
}

/** The libp2p transport factory of an anchor's rotating WebRTC-direct listeners. */
export function rotatingWebRTCDirect (init: RotatingWebRTCDirectInit): (components: WebRTCDirectTransportComponents) => Transport {
  return (components) => new RotatingWebRTCDirect(components, init)
}

/** Drops announced WebRTC-direct addresses that have no certhash (their slot is not serving). */
export function hasCerthashIfWebRTCDirect (address: Multiaddr): boolean {
  return !isWebRTCDirect(address) || address.getComponents().some(c => c.code === CODE_CERTHASH)
}
