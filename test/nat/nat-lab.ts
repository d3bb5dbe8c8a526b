import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { natRuleset } from './nat-kinds.js'
import type { NatKind } from './nat-kinds.js'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

const run = promisify(execFile)

/**
 * The lab's internet: one L2 segment of public-looking addresses with no route anywhere else.
 * libp2p counts every TEST-NET range and 198.18/15 as private, so the lab uses part of 11/8,
 * which it treats as public; nothing leaves the namespaces, so nothing real is ever reached.
 */
export const INTERNET_PREFIX = '11.18'
const INTERNET_MASK = 16
/** Every LAN is the same home network, as in real life: peers must not confuse each other's. */
const LAN_ROUTER = '192.168.1.1'
const LAN_HOST = '192.168.1.2'
const LAN_MASK = 24
const NAMESPACE_PREFIX = 'mnat'

export class NatLabError extends Error {
  override readonly name = 'NatLabError'
}

/** A namespace with one address on the lab internet or behind a NAT router. */
export interface LabHost {
  /** Network namespace the host's processes run in. */
  readonly ns: string
  /** The host's own address (public for anchors and public peers, the LAN address behind NAT). */
  readonly address: string
  /** The address the internet sees it at (its router's WAN address behind NAT). */
  readonly publicAddress: string
  readonly nat?: { readonly kind: NatKind, readonly routerNs: string }
}

async function sh (argv: readonly string[], input?: string): Promise<string> {
  const [file, ...args] = argv
  if (file == null) throw new NatLabError('empty command')
  try {
    if (input == null) return (await run(file, args)).stdout
    return await new Promise<string>((resolve, reject) => {
      const child = execFile(file, args, (err, stdout, stderr) => {
        if (err != null) reject(new Error(`${err.message}${stderr}`))
        else resolve(stdout)
      })
      child.stdin?.end(input)
    })
  } catch (err) {
    throw new NatLabError(`${argv.join(' ')} failed: ${(err as Error).message.trim()}`, { cause: err })
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Says why a NAT lab cannot be built here, or undefined when it can: it needs root (or
 * CAP_NET_ADMIN), `ip` and `nft`, and a kernel that makes network namespaces.
 */
export async function natLabUnavailable (): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux, this is ${process.platform}`
  if (process.getuid?.() !== 0) return 'the NAT lab needs root to create network namespaces (CI runs as root)'
  for (const tool of [['ip', '-V'], ['nft', '--version']]) {
    try {
      await run(tool[0] as string, tool.slice(1))
    } catch {
      return `\`${tool[0] as string}\` is not installed (Debian: ${tool[0] === 'nft' ? 'nftables' : 'iproute2'}); .ci/run installs it`
    }
  }
  const probe = `${NAMESPACE_PREFIX}-${process.pid}-probe`
  try {
    await run('ip', ['netns', 'add', probe])
    await run('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'])
    await run('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset'])
  } catch (err) {
    return `cannot create network namespaces with veth links and nftables here: ${(err as Error).message.split('\n')[0] ?? ''}`
  } finally {
    await run('ip', ['netns', 'del', probe]).catch(() => {})
  }
  return undefined
}

/**
 * A lab of network namespaces: an internet segment (a bridge in its own namespace), hosts on it
 * with public addresses, and hosts behind NAT routers of the kinds in `nat-kinds.ts`. Every
 * namespace is named `mnat-<pid>-<lab>-…`, so `destroy()` (or the next lab, once this process
 * is gone) removes exactly what this lab made, processes inside first.
 */
export class NatLab {
  readonly id: string
  private readonly children = new Set<ChildProcess>()
  private readonly namespaces: string[] = []
  private nextPublic = 10
  private nextRouter = 1
  private nextPort = 0
  private destroyed = false

  private constructor (id: string) {
    this.id = id
  }

  /** Builds the internet segment. Removes labs left behind by processes that no longer run. */
  static async create (name = 'lab'): Promise<NatLab> {
    await NatLab.sweepStale()
    const lab = new NatLab(`${NAMESPACE_PREFIX}-${process.pid}-${name}`)
    try {
      await lab.addNamespace(lab.internetNs)
      await sh(['ip', '-n', lab.internetNs, 'link', 'add', 'br0', 'type', 'bridge'])
      await sh(['ip', '-n', lab.internetNs, 'link', 'set', 'br0', 'up'])
    } catch (err) {
      await lab.destroy()
      throw err
    }
    return lab
  }

  /** Deletes namespaces of labs whose owning process has exited (a test killed mid-run). */
  static async sweepStale (): Promise<void> {
    const listed = await sh(['ip', 'netns', 'list']).catch(() => '')
    for (const line of listed.split('\n')) {
      const ns = line.split(' ')[0] ?? ''
      const match = new RegExp(`^${NAMESPACE_PREFIX}-(\\d+)-`).exec(ns)
      if (match == null || isAlive(Number(match[1]))) continue
      await killNamespaceProcesses(ns)
      await sh(['ip', 'netns', 'del', ns]).catch(() => {})
    }
  }

  private get internetNs (): string {
    return `${this.id}-inet`
  }

  /** A host with its own public address on the internet segment (an anchor, a public peer). */
  async addPublicHost (name: string): Promise<LabHost> {
    const address = `${INTERNET_PREFIX}.0.${this.nextPublic++}`
    const ns = `${this.id}-${name}`
    await this.addNamespace(ns)
    await this.plugIntoInternet(ns, address)
    return { ns, address, publicAddress: address }
  }

  /** A host alone on a LAN behind a router of the given kind, whose WAN side is on the internet. */
  async addNatHost (name: string, kind: NatKind): Promise<LabHost> {
    const index = this.nextRouter++
    const wanAddress = `${INTERNET_PREFIX}.${1 + Math.floor(index / 250)}.${index % 250 + 1}`
    const ns = `${this.id}-${name}`
    const routerNs = `${this.id}-${name}-gw`
    await this.addNamespace(routerNs)
    await this.addNamespace(ns)
    await this.plugIntoInternet(routerNs, wanAddress)
    await sh(['ip', '-n', routerNs, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    await sh(['ip', '-n', routerNs, 'addr', 'add', `${LAN_ROUTER}/${LAN_MASK}`, 'dev', 'lan'])
    await sh(['ip', '-n', routerNs, 'link', 'set', 'lan', 'up'])
    await sh(['ip', 'netns', 'exec', routerNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    await sh(['ip', 'netns', 'exec', routerNs, 'nft', '-f', '-'], natRuleset(kind, { wan: 'wan', lan: 'lan', host: LAN_HOST }))
    await sh(['ip', '-n', ns, 'addr', 'add', `${LAN_HOST}/${LAN_MASK}`, 'dev', 'eth0'])
    await sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
    await sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', LAN_ROUTER])
    return { ns, address: LAN_HOST, publicAddress: wanAddress, nat: { kind, routerNs } }
  }

  /** Starts a process inside a host's namespace; `destroy()` kills it if it still runs. */
  spawn (host: LabHost, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    if (this.destroyed) throw new NatLabError('the lab has been destroyed')
    const child = spawn('ip', ['netns', 'exec', host.ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], ...options })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    return child
  }

  /** Runs a command inside a namespace and returns its output. */
  async exec (ns: string, argv: readonly string[]): Promise<string> {
    return await sh(['ip', 'netns', 'exec', ns, ...argv])
  }

  /** Kills every process in the lab's namespaces and deletes them. Safe to call twice. */
  async destroy (): Promise<void> {
    this.destroyed = true
    for (const child of this.children) child.kill('SIGKILL')
    for (const ns of [...this.namespaces].reverse()) {
      await killNamespaceProcesses(ns)
      await sh(['ip', 'netns', 'del', ns]).catch(() => {})
    }
    this.namespaces.length = 0
  }

  private async addNamespace (ns: string): Promise<void> {
    await sh(['ip', 'netns', 'add', ns])
    this.namespaces.push(ns)
    await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
  }

  /** A veth from `ns` (as `wan`) to the internet bridge, with `address` on it. */
  private async plugIntoInternet (ns: string, address: string): Promise<void> {
    const port = `p${this.nextPort++}`
    await sh(['ip', '-n', ns, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', port, 'netns', this.internetNs])
    await sh(['ip', '-n', this.internetNs, 'link', 'set', port, 'master', 'br0', 'up'])
    await sh(['ip', '-n', ns, 'addr', 'add', `${address}/${INTERNET_MASK}`, 'dev', 'wan'])
    await sh(['ip', '-n', ns, 'link', 'set', 'wan', 'up'])
  }
}

async function killNamespaceProcesses (ns: string): Promise<void> {
  const pids = (await sh(['ip', 'netns', 'pids', ns]).catch(() => '')).split('\n').map(Number).filter(p => p > 0)
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
}
