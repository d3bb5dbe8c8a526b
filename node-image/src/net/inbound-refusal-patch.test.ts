import { once } from 'node:events'
import { connect } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Libp2p } from '@libp2p/interface'
import type { Socket } from 'node:net'

/** libp2p's upgrader, which the Libp2p interface does not expose. */
interface Upgrader { upgradeInbound: (...args: unknown[]) => Promise<unknown> }
const upgrader = (target: Libp2p): Upgrader => (target as unknown as { components: { upgrader: Upgrader } }).components.upgrader

/** The TCP port of the node's first listen address. */
const tcpPort = (target: Libp2p): number => Number(target.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')?.value)

/** A raw TCP connection from `localAddress` that says nothing: it holds a pending slot until the upgrade times out. */
async function silentSocket (target: Libp2p, localAddress: string): Promise<Socket> {
  const port = tcpPort(target)
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  return socket
}

/** How a dial from `localAddress` ends: `reset` when the listener sent an RST (before or after connect), `open` if still open after 2 s. */
async function dialOutcome (target: Libp2p, localAddress: string): Promise<{ outcome: 'reset' | 'closed' | 'open', socket: Socket }> {
  const port = tcpPort(target)
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  const outcome = await new Promise<'reset' | 'closed' | 'open'>(resolve => {
    const timer = setTimeout(() => { resolve('open') }, 2_000)
    socket.once('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(err.code === 'ECONNRESET' ? 'reset' : 'closed') })
    socket.once('close', () => { clearTimeout(timer); resolve('closed') })
  })
  socket.on('error', () => {})
  return { outcome, socket }
}

describe('the TCP listener refuses dials past the pending-handshake slots before upgrading them (patches/README.md)', () => {
  const node = loopbackNodes()

  it('resets them without building a connection or starting an upgrade, and admits again once a slot frees', async () => {
    const listener = await node(undefined, { connectionManager: { maxIncomingPendingConnections: 2, inboundConnectionThreshold: 1000 } })
    const upgrades = vi.spyOn(upgrader(listener), 'upgradeInbound')
    const holders = [await silentSocket(listener, '127.0.0.2'), await silentSocket(listener, '127.0.0.3')]
    await expect.poll(() => upgrades.mock.calls.length).toBe(2)

    // A reconnect storm: every slot is held, so every further dial is turned away.
    const refused = await Promise.all(Array.from({ length: 5 }, async (_, i) => await dialOutcome(listener, `127.0.0.${10 + i}`)))
    expect(refused.map(r => r.outcome)).toEqual(['reset', 'reset', 'reset', 'reset', 'reset'])
    // Unpatched, each was wrapped and handed to upgradeInbound, which threw ConnectionDeniedError.
    expect(upgrades).toHaveBeenCalledTimes(2)

    holders[0]!.destroy()
    await expect.poll(async () => (await dialOutcome(listener, '127.0.0.20')).outcome, { timeout: 10_000, interval: 100 }).toBe('open')
    expect(upgrades.mock.calls.length).toBeGreaterThanOrEqual(3)
    for (const socket of holders) socket.destroy()
  })

  it('leaves allow-listed addresses to the connection manager, which admits them past the slots', async () => {
    const listener = await node(undefined, { connectionManager: { maxIncomingPendingConnections: 1, inboundConnectionThreshold: 1000, allow: ['/ip4/127.0.0.9/ipcidr/32'] } })
    const upgrades = vi.spyOn(upgrader(listener), 'upgradeInbound')
    const holder = await silentSocket(listener, '127.0.0.2')
    await expect.poll(() => upgrades.mock.calls.length).toBe(1)
    const allowed = await dialOutcome(listener, '127.0.0.9')
    expect(allowed.outcome).toBe('open')
    expect(upgrades).toHaveBeenCalledTimes(2)
    for (const socket of [holder, allowed.socket]) socket.destroy()
  })
})

const UPGRADE_REQUEST = 'GET / HTTP/1.1\r\nHost: anchor\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

/** A socket to `port` that upgrades to WebSocket and then says nothing; the first bytes it got, or how it ended. */
async function webSocketDial (port: number, localAddress: string): Promise<{ answer: string, socket: ReturnType<typeof connect> }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  socket.on('error', () => {})
  const answer = await new Promise<string>(resolve => {
    socket.once('connect', () => socket.write(UPGRADE_REQUEST))
    socket.once('data', (data: Buffer) => { resolve(data.toString()) })
    socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? 'error') })
    socket.once('close', () => { resolve('closed') })
  })
  return { answer, socket }
}

describe('the WebSocket listener refuses sockets past the pending-handshake slots before their upgrade (patches/README.md)', () => {
  const node = loopbackNodes()

  it('resets them before any HTTP, and admits again once a slot frees', async () => {
    const listener = await node(undefined, { transport: 'ws', connectionManager: { maxIncomingPendingConnections: 2, inboundConnectionThreshold: 1000 } })
    const port = tcpPort(listener)
    const upgrades = vi.spyOn(upgrader(listener), 'upgradeInbound')
    // A WebSocket connection takes its slot once upgraded, and keeps it while it stays silent.
    const holders = [await webSocketDial(port, '127.0.0.2'), await webSocketDial(port, '127.0.0.3')]
    expect(holders.map(h => h.answer.slice(0, 12))).toEqual(['HTTP/1.1 101', 'HTTP/1.1 101'])
    await expect.poll(() => upgrades.mock.calls.length).toBe(2)

    const refused = await Promise.all(Array.from({ length: 3 }, async (_, i) => await webSocketDial(port, `127.0.0.${10 + i}`)))
    // Unpatched, each got its 101 Switching Protocols, then upgradeInbound refused it.
    expect(refused.map(r => r.answer)).toEqual(['ECONNRESET', 'ECONNRESET', 'ECONNRESET'])
    expect(upgrades).toHaveBeenCalledTimes(2)

    holders[0]!.socket.destroy()
    await expect.poll(async () => {
      const next = await webSocketDial(port, '127.0.0.20')
      next.socket.destroy()
      return next.answer.slice(0, 12)
    }, { timeout: 10_000, interval: 100 }).toBe('HTTP/1.1 101')
    for (const holder of holders) holder.socket.destroy()
    await once(holders[1]!.socket, 'close')
  })
})
