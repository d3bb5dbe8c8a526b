import { execFile } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { createConnection, createServer } from 'node:net'
import { promisify } from 'node:util'
import type { Server, Socket } from 'node:net'

const run = promisify(execFile)

/**
 * The real node's own network namespace, joined to the host by a veth pair on a /24 of
 * 10.251.0.0/16 that nothing else on the machine uses: the kubelet, containerd, kube-proxy,
 * CoreDNS and every pod live inside it, so their bridge, iptables rules and routes touch
 * nothing of the host's. The host reaches the node (NodePorts, HostPorts) at `nodeIp`; the
 * node reaches the host (the API server, through {@link ApiServerRelay}) at `hostIp`.
 */
export class NodeNetwork {
  readonly name: string
  readonly hostIp: string
  readonly nodeIp: string
  private readonly hostLink: string
  private removed = false

  private constructor (name: string, subnet: number) {
    this.name = name
    this.hostIp = `10.251.${subnet}.1`
    this.nodeIp = `10.251.${subnet}.2`
    this.hostLink = `${name.slice(0, 9)}-h`
  }

  /** `nsenter` arguments that run a command inside the namespace (network only: mounts stay shared with the host, as the kubelet and containerd need). */
  get enter (): string[] {
    return [`--net=/run/netns/${this.name}`]
  }

  static async create (): Promise<NodeNetwork> {
    const { stdout } = await run('ip', ['-4', '-o', 'addr'])
    const used = new Set([...stdout.matchAll(/ 10\.251\.(\d+)\./g)].map(m => Number(m[1])))
    let subnet = randomInt(1, 255)
    for (let i = 0; i < 254 && used.has(subnet); i++) subnet = subnet % 254 + 1
    if (used.has(subnet)) throw new Error('no free /24 left in 10.251.0.0/16 for a test node')
    const network = new NodeNetwork(`mnode${subnet}x${randomInt(1000, 9999)}`, subnet)
    try {
      await network.setUp()
    } catch (err) {
      await network.remove()
      throw err
    }
    return network
  }

  private async setUp (): Promise<void> {
    const ns = ['ip', 'netns', 'exec', this.name]
    const nodeLink = `${this.name.slice(0, 9)}-n`
    await run('ip', ['netns', 'add', this.name])
    await run('ip', ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', nodeLink])
    await run('ip', ['link', 'set', nodeLink, 'netns', this.name])
    await run('ip', ['addr', 'add', `${this.hostIp}/24`, 'dev', this.hostLink])
    await run('ip', ['link', 'set', this.hostLink, 'up'])
    for (const args of [['ip', 'link', 'set', 'lo', 'up'], ['ip', 'addr', 'add', `${this.nodeIp}/24`, 'dev', nodeLink],
      ['ip', 'link', 'set', nodeLink, 'up'], ['ip', 'route', 'add', 'default', 'via', this.hostIp],
      ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']]) {
      await run(ns[0] ?? 'ip', [...ns.slice(1), ...args])
    }
  }

  /** Runs a command inside the namespace. */
  async exec (command: string, args: readonly string[]): Promise<string> {
    const { stdout } = await run('nsenter', [...this.enter, command, ...args], { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  }

  /** Deletes the namespace (and with it the veth pair, the bridge and every rule in it). Idempotent. */
  async remove (): Promise<void> {
    if (this.removed) return
    this.removed = true
    await run('ip', ['link', 'del', this.hostLink]).catch(() => {})
    await run('ip', ['netns', 'del', this.name]).catch(() => {})
  }
}

/**
 * Carries TCP from the node's side of the veth to the API server on the host's loopback, so the
 * test control plane keeps listening on 127.0.0.1 only. TLS passes through untouched; clients
 * inside verify the serving certificate as 127.0.0.1 (kubeconfig `tls-server-name`) or
 * 10.0.0.1 (the `kubernetes` Service), both in its SANs.
 */
export class ApiServerRelay {
  readonly host: string
  readonly port: number
  private readonly server: Server
  private readonly sockets: Set<Socket>

  private constructor (server: Server, host: string, port: number, sockets: Set<Socket>) {
    this.server = server
    this.host = host
    this.port = port
    this.sockets = sockets
  }

  static async start (host: string, target: number): Promise<ApiServerRelay> {
    const sockets = new Set<Socket>()
    const server = createServer(client => {
      const upstream = createConnection({ host: '127.0.0.1', port: target })
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream)
      upstream.pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, host, resolve)
    })
    return new ApiServerRelay(server, host, (server.address() as { port: number }).port, sockets)
  }

  async stop (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}
