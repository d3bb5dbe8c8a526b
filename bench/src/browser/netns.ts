import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

async function ip (...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed (the browser tests need root and iproute2 to make a network namespace): ${(err as { stderr?: string }).stderr ?? (err as Error).message}`, { cause: err })
  }
}

/**
 * A network namespace joined to this one by a veth pair on a /30 of its own, so a browser run
 * inside it reaches the anchors on the host side (10.77.N.1) and nothing else: its WebRTC ICE
 * candidates are 10.77.N.2 only (no loopback, none of the machine's other interfaces), and it has
 * no route anywhere else.
 */
export class TestNetwork {
  readonly name: string
  readonly hostAddress: string
  readonly nsAddress: string
  private readonly dir: string

  private constructor (name: string, subnet: number, dir: string) {
    this.name = name
    this.hostAddress = `10.77.${subnet}.1`
    this.nsAddress = `10.77.${subnet}.2`
    this.dir = dir
  }

  static async create (): Promise<TestNetwork> {
    const taken = await ip('-4', '-o', 'addr')
    let subnet = process.pid % 250
    while (taken.includes(`10.77.${subnet}.`)) subnet = (subnet + 1) % 250
    const name = `mgb${process.pid}`
    const network = new TestNetwork(name, subnet, await mkdtemp(join(tmpdir(), 'meganet-netns-')))
    try {
      await ip('netns', 'add', name)
      await ip('link', 'add', `${name}h`, 'type', 'veth', 'peer', 'name', `${name}n`)
      await ip('link', 'set', `${name}n`, 'netns', name)
      await ip('addr', 'add', `${network.hostAddress}/30`, 'dev', `${name}h`)
      await ip('link', 'set', `${name}h`, 'up')
      await ip('-n', name, 'addr', 'add', `${network.nsAddress}/30`, 'dev', `${name}n`)
      await ip('-n', name, 'link', 'set', `${name}n`, 'up')
      await ip('-n', name, 'link', 'set', 'lo', 'up')
    } catch (err) {
      await network.destroy()
      throw err
    }
    return network
  }

  /** An executable that runs `command` inside the namespace with the arguments it is given. */
  async wrap (command: string): Promise<string> {
    const path = join(this.dir, `${command.split('/').pop() ?? 'command'}-in-${this.name}`)
    await writeFile(path, `#!/bin/sh\nexec ip netns exec ${this.name} ${command} "$@"\n`)
    await chmod(path, 0o755)
    return path
  }

  async destroy (): Promise<void> {
    await ip('link', 'del', `${this.name}h`).catch(() => {})
    await ip('netns', 'del', this.name).catch(() => {})
    await rm(this.dir, { recursive: true, force: true })
  }
}
