import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestPeers } from '../helpers/peers.js'
import { rawNode } from '../../bench/src/attack-node.js'
import type { RawNode } from '../../bench/src/attack-node.js'

/**
 * Issue 13, finding 5: a few PeerIds must not be able to make a peer unreachable through its
 * anchor, and an IP cap must cover the network, not just one address of it.
 */
describe('relay limits a few hosts cannot use to starve others', () => {
  const anchors: AnchorProcess[] = []
  const nodes: RawNode[] = []
  const peers = new TestPeers()

  afterEach(async () => {
    await peers.stopAll()
    await Promise.all(nodes.splice(0).map(async n => await n.stop()))
    await Promise.all(anchors.splice(0).map(async a => await a.cleanup()))
  })

  async function anchor (flags: Record<string, string> = {}): Promise<AnchorProcess> {
    const started = await AnchorProcess.start({ flags })
    anchors.push(started)
    return started
  }

  async function node (localAddress: string, reserve = false): Promise<RawNode> {
    const created = await rawNode({ localAddress, reserve })
    nodes.push(created)
    return created
  }

  it('keeps a victim reachable while two attacker PeerIds hold idle circuits to it', async () => {
    const relay = await anchor()
    const victim = await peers.on(relay)
    const circuit = multiaddr(`${relay.tcpAddress}/p2p-circuit/p2p/${victim.peerId}`)
    let opened = 0
    for (const attacker of [await node('127.0.1.1'), await node('127.0.1.2')]) {
      await attacker.dial(multiaddr(relay.tcpAddress))
      for (let i = 0; i < 8; i++) {
        try {
          await attacker.dial(circuit, { force: true, signal: AbortSignal.timeout(5_000) })
          opened++
        } catch {
          // Refused: the defence at work.
        }
      }
    }
    expect(opened).toBeGreaterThan(0)
    const sender = await peers.on(relay)
    await sender.send(victim.peerId, new TextEncoder().encode('still reachable'))
    expect(await relay.metric('meganet_relay_circuits_refused_total{reason="per_pair"}') +
      await relay.metric('meganet_relay_circuits_refused_total{reason="per_prefix"}')).toBeGreaterThan(0)
  })

  it('caps reservations per network prefix, not only per address', async () => {
    const relay = await anchor()
    const reserving: RawNode[] = []
    for (let ip = 1; ip <= 5; ip++) {
      for (let i = 0; i < 8; i++) {
        const reserver = await node(`127.0.1.${ip}`, true)
        await reserver.dial(multiaddr(relay.tcpAddress)).catch(() => {})
        reserving.push(reserver)
      }
    }
    const refused = await eventually(async () => {
      const count = await relay.metric('meganet_relay_reservations_refused_total{reason="per_prefix"}')
      return count > 0 ? count : undefined
    }, 20_000, 'reservations refused per prefix')
    expect(refused).toBeGreaterThan(0)
    expect(await relay.metric('meganet_relay_reservations')).toBeLessThan(40)
  })

  it('closes a relayed connection that stays idle', async () => {
    const relay = await anchor({ 'relay-circuit-idle-timeout': '2s' })
    const receiver = await peers.on(relay)
    const sender = await peers.on(relay)
    await sender.send(receiver.peerId, new TextEncoder().encode('then silence'))
    expect(await relay.metric('meganet_relay_circuits')).toBe(1)
    await eventually(async () => (await relay.metric('meganet_relay_circuits_closed_by_limit_total{limit="idle"}')) >= 1 ? true : undefined, 15_000, 'idle circuit closed')
    expect(await relay.metric('meganet_relay_circuits')).toBe(0)
  })
})
