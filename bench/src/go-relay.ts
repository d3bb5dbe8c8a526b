import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

/**
 * The go-libp2p circuit-relay-v2 comparator (test/tools/go-relay), when MEGANET_GO_RELAY names
 * its binary; `npm run bench` builds it with test/tools/install-go-relay.sh where Go is present.
 */
export function findGoRelay (): string | undefined {
  const binary = process.env.MEGANET_GO_RELAY
  return binary == null || binary === '' ? undefined : binary
}

export interface GoRelay { readonly child: ChildProcess, readonly address: string }

export async function startGoRelay (binary: string, args: readonly string[]): Promise<GoRelay> {
  const child = spawn(binary, ['--listen', '/ip4/127.0.0.1/tcp/0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const errors: string[] = []
  child.stderr?.on('data', (chunk: Buffer) => { errors.push(chunk.toString()) })
  return await new Promise<GoRelay>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', code => reject(new Error(`go relay exited with ${code}: ${errors.join('')}`)))
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', line => {
      const started = JSON.parse(line) as { multiaddrs?: unknown }
      const address = Array.isArray(started.multiaddrs) ? started.multiaddrs.find((a): a is string => typeof a === 'string') : undefined
      if (address == null) reject(new Error(`go relay printed no multiaddr: ${line}`))
      else resolve({ child, address })
    })
  })
}
