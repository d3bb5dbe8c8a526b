import { tcp } from '@libp2p/tcp'
import { transportSymbol } from '@libp2p/interface'
import { getNetConfig } from '@libp2p/utils'
import { TCP } from '@multiformats/multiaddr-matcher'
import type { TCPComponents, TCPOptions } from '@libp2p/tcp'
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The libuv TCP handle Node's `net` module wraps; bound here with SO_REUSEPORT before connecting. */
interface TcpHandle { bind: (address: string, port: number, flags: number) => number, close: () => void }
interface TcpWrap { TCP: new (type: number) => TcpHandle, constants: { SOCKET: number, UV_TCP_REUSEPORT?: number } }

/**
 * Node's `net` can listen with SO_REUSEPORT but cannot set it on a socket it connects, so the
 * connecting socket is made from the same libuv handle `net` uses, bound first. `process.binding`
 * is deprecated for applications (DEP0111, documentation only); where it or the flag is missing
 * this returns undefined and dials use ephemeral ports: everything works, minus hole punching.
 */
function loadTcpWrap (): TcpWrap | undefined {
  try {
    const binding = (process as unknown as { binding?: (name: string) => unknown }).binding?.('tcp_wrap') as TcpWrap | undefined
    if (binding?.TCP == null || binding.constants?.UV_TCP_REUSEPORT == null) return undefined
    return binding
  } catch {
    return undefined
  }
}

const TCP_WRAP = loadTcpWrap()

/** Errors that mean "this local port cannot reach that remote now" (e.g. still in TIME_WAIT): dial from any port. */
const PORT_BUSY = new Set(['EADDRINUSE', 'EADDRNOTAVAIL'])
/** The dial priority @libp2p/dcutr gives its hole-punch dials. */
const DCUTR_DIAL_PRIORITY = 100

export type ReusePortTcpInit = Omit<TCPOptions, 'listenOpts'>

/**
 * TCP whose outbound connections leave from the port it listens on (SO_REUSEPORT on both), as
 * go-libp2p's does. Behind a NAT that maps endpoint-independently, every anchor then observes
 * the same public address:port, which is also where the listener is mapped: the address a
 * hole punch (a TCP simultaneous open, both sides dialling from their listen ports) needs.
 * With ephemeral source ports, as stock js-libp2p dials, each connection gets its own mapping
 * and no observed address is worth announcing (js-libp2p issue #2620).
 */
export class ReusePortTcp implements Transport {
  private readonly inner: Transport
  private readonly listeners: Listener[] = []
  /** Connections whose local port is the listen port: their observed address is our mapping. */
  private readonly viaListenPort = new WeakSet<Connection>()

  constructor (components: TCPComponents, init: ReusePortTcpInit = {}) {
    this.inner = tcp({ ...init, listenOpts: { reusePort: TCP_WRAP != null } as TCPOptions['listenOpts'] })(components)
  }

  readonly [transportSymbol] = true
  readonly [Symbol.toStringTag] = '@meganet/reuse-port-tcp'

  /** True when Node lets dials share the listen port here. */
  static get supported (): boolean {
    return TCP_WRAP != null
  }

  /** The IPv4 port this transport listens on, once listening. */
  listenPort (): number | undefined {
    for (const listener of this.listeners) {
      for (const address of listener.getAddrs()) {
        const config = getNetConfig(address)
        if (config.type === 'ip4' && config.port != null) return config.port
      }
    }
    return undefined
  }

  /**
   * Whether this connection's local port is the listen port: dialled from it, or accepted by
   * the listener (the only TCP listener a peer has).
   */
  sharesListenPort (connection: Connection): boolean {
    if (this.viaListenPort.has(connection)) return true
    return connection.direction === 'inbound' && this.listenPort() != null && TCP.exactMatch(connection.remoteAddr)
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    const handle = this.boundHandle(ma)
    if (handle == null) return await this.inner.dial(ma, options)
    try {
      // `net.connect({ handle })` adopts the bound handle; manualStart keeps it from reading before it connects.
      const connection = await this.inner.dial(ma, { ...options, handle, manualStart: true } as DialTransportOptions)
      this.viaListenPort.add(connection)
      return connection
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code == null || !PORT_BUSY.has(code) || options.signal.aborted) throw err
      // A hole punch from another port cannot work (the peer's NAT expects this one); the port
      // is busy because the peer's own dial reached our listener, which is the connection wanted.
      if ((options as { priority?: number }).priority === DCUTR_DIAL_PRIORITY) throw err
      return await this.inner.dial(ma, options)
    }
  }

  createListener (options: CreateListenerOptions): Listener {
    const listener = this.inner.createListener(options)
    this.listeners.push(listener)
    listener.addEventListener('close', () => {
      const index = this.listeners.indexOf(listener)
      if (index >= 0) this.listeners.splice(index, 1)
    })
    return listener
  }

  readonly listenFilter = (multiaddrs: Multiaddr[]): Multiaddr[] => this.inner.listenFilter(multiaddrs)
  readonly dialFilter = (multiaddrs: Multiaddr[]): Multiaddr[] => this.inner.dialFilter(multiaddrs)

  /** A socket handle bound to the listen port for an IPv4 dial, or undefined to dial as usual. */
  private boundHandle (ma: Multiaddr): TcpHandle | undefined {
    const port = this.listenPort()
    if (TCP_WRAP == null || port == null) return undefined
    let config
    try {
      config = getNetConfig(ma)
    } catch {
      return undefined
    }
    if (config.type !== 'ip4') return undefined
    const handle = new TCP_WRAP.TCP(TCP_WRAP.constants.SOCKET)
    if (handle.bind('0.0.0.0', port, TCP_WRAP.constants.UV_TCP_REUSEPORT as number) !== 0) {
      handle.close()
      return undefined
    }
    return handle
  }
}

export function reusePortTcp (init: ReusePortTcpInit = {}): (components: TCPComponents) => ReusePortTcp {
  return (components) => new ReusePortTcp(components, init)
}
