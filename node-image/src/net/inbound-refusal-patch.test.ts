import { connect } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import { loopbackNodes } from './loopback-node.fixture.js'
import type { Libp2p } from '@libp2p/interface'
import type { Socket } from 'node:net'

/** libp2p's upgrader, which the Libp2p interface does not expose. */
interface Upgrader { upgradeInbound: (...args: unknown[]) => Promise<unknown> }
const upgrader = (target: Libp2p): Upgrader => (target as unknown as { components: { upgrader: Upgrader } }).components.upgrader

/** A raw TCP connection from `localAddress` that says nothing: it holds a pending slot until the upgrade times out. */
async function silentSocket (target: Libp2p, localAddress: string): Promise<Socket> {
  const port = Number(target.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')?.value)
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  return socket
}

/** How a dial from `localAddress` ends: `reset` when the listener sent an RST (before or after connect), `open` if still open after 2 s. */
async function dialOutcome (target: Libp2p, localAddress: string): Promise<{ outcome: 'reset' | 'closed' | 'open', socket: Socket }> {
  const port = Number(target.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')?.value)
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
