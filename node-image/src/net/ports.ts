import { createSocket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

/** Where Linux takes the ports it hands out for port 0 and for outgoing connections. */
const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range'
/** Picked ports stay above the well-known and registered ports most services sit on. */
const LOWEST_PICK = 10_000
const PICK_ATTEMPTS = 50

/** The first port of the kernel's ephemeral range, when it leaves room below it to pick from. */
async function ephemeralStart (): Promise<number | undefined> {
  try {
    const start = Number((await readFile(EPHEMERAL_RANGE_FILE, 'utf8')).trim().split(/\s+/)[0])
    return Number.isInteger(start) && start > LOWEST_PICK + 1_000 ? start : undefined
  } catch {
    return undefined
  }
}

/**
 * A port that `bind` accepts now, picked below the kernel's ephemeral range where it can. A port
 * is often planned before it is bound (a devnet anchor's HTTP port goes into the others' config
 * first); one from the ephemeral range could meanwhile be handed to any process that listens on
 * port 0 or connects out, and the bind then fails with EADDRINUSE. It did, in the federation tests.
 */
async function pickPort (bind: (port: number) => Promise<number | undefined>): Promise<number> {
  const start = await ephemeralStart()
  if (start != null) {
    for (let attempt = 0; attempt < PICK_ATTEMPTS; attempt++) {
      const port = await bind(LOWEST_PICK + Math.floor(Math.random() * (start - LOWEST_PICK)))
      if (port != null) return port
    }
  }
  const port = await bind(0)
  if (port == null) throw new Error('no free port: binding port 0 failed')
  return port
}

/** A TCP port that was free a moment ago on 127.0.0.1 (see {@link pickPort}). */
export async function freePort (): Promise<number> {
  return await pickPort(async wanted => {
    const server = createServer()
    const bound = await new Promise<boolean>(resolve => {
      server.once('error', () => { resolve(false) })
      server.listen(wanted, '127.0.0.1', () => { resolve(true) })
    })
    if (!bound) return undefined
    const { port } = server.address() as AddressInfo
    await new Promise<void>(resolve => server.close(() => resolve()))
    return port
  })
}

/** A UDP port that was free a moment ago on `host` (see {@link pickPort}). */
export async function freeUdpPort (host = '127.0.0.1'): Promise<number> {
  return await pickPort(async wanted => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const bound = await new Promise<boolean>(resolve => {
      socket.once('error', () => { resolve(false) })
      socket.bind(wanted, host, () => { resolve(true) })
    })
    if (!bound) return undefined
    const { port } = socket.address()
    await new Promise<void>(resolve => socket.close(() => resolve()))
    return port
  })
}
