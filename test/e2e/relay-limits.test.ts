import { afterEach, describe, expect, it } from 'vitest'
import { MeganetPeer } from '../../node-image/src/peer/index.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'

/** Every peer in these tests connects from 127.0.0.1, which is what the per-IP cap counts. */
describe('relay limits are enforced and counted', () => {
  const anchors: AnchorProcess[] = []
  const peers: MeganetPeer[] = []

  afterEach(async () => {
    await Promise.all(peers.splice(0).map(async p => await p.stop()))
    await Promise.all(anchors.splice(0).map(async a => await a.cleanup()))
  })

  async function anchor (flags: Record<string, string>): Promise<AnchorProcess> {
    const started = await AnchorProcess.start({ flags })
    anchors.push(started)
    return started
  }

  async function peer (target: AnchorProcess, reservationTimeoutMs = 15_000): Promise<MeganetPeer> {
    const created = await MeganetPeer.create({ anchors: [target.tcpAddress], allowPrivateAddresses: true, reservationTimeoutMs })
    peers.push(created)
    await created.start()
    return created
  }

  it('refuses reservations past max reservations', async () => {
    const relay = await anchor({ 'relay-max-reservations': '2', 'relay-max-reservations-per-ip': '0' })
    await peer(relay)
    await peer(relay)
    await expect(peer(relay, 3_000)).rejects.toThrow(/no relay reservation/)
    expect(await relay.metric('meganet_relay_reservations_refused_total{reason="capacity"}')).toBeGreaterThanOrEqual(1)
    expect(await relay.metric('meganet_relay_reservations')).toBe(2)
  })

  it('refuses reservations past the per-IP cap, and frees a slot when its peer leaves', async () => {
    const relay = await anchor({ 'relay-max-reservations-per-ip': '1' })
    const first = await peer(relay)
    await expect(peer(relay, 3_000)).rejects.toThrow(/no relay reservation/)
    expect(await relay.metric('meganet_relay_reservations_refused_total{reason="per_ip"}')).toBeGreaterThanOrEqual(1)
    // The refused peer stopped itself: left running, it would redial and take the slot freed below.
    await eventually(async () => (await relay.metric('meganet_peers{transport="tcp"}')) === 1 ? true : undefined, 10_000, 'refused peer disconnected')

    await first.stop()
    await eventually(async () => (await relay.metric('meganet_relay_reservations')) === 0 ? true : undefined, 10_000, 'reservation freed on disconnect')
    await peer(relay)
  })

  it('refuses circuits past the per-peer cap', async () => {
    const relay = await anchor({ 'relay-max-circuits-per-peer': '1' })
    const receiver = await peer(relay)
    const firstSender = await peer(relay)
    const secondSender = await peer(relay)
    await firstSender.send(receiver.peerId, new TextEncoder().encode('first circuit'))
    await expect(secondSender.send(receiver.peerId, new TextEncoder().encode('second circuit'))).rejects.toThrow()
    expect(await relay.metric('meganet_relay_circuits_refused_total{reason="per_peer"}')).toBeGreaterThanOrEqual(1)
    expect(await relay.metric('meganet_relay_circuits_opened_total')).toBe(1)
  })

  it('lets a peer keep more circuits through one relay than libp2p allows streams of a protocol by default (32) when no cap is set', async () => {
    // Regression: the hop stream of every open circuit counted against libp2p's default of 32
    // inbound streams per protocol and connection, so the 33rd circuit was reset, not refused.
    const relay = await anchor({ 'relay-max-circuits-per-peer': '0', 'relay-max-reservations-per-ip': '0', 'relay-max-reservations-per-prefix': '0' })
    const sender = await peer(relay)
    const receivers = await Promise.all(Array.from({ length: 34 }, async () => await peer(relay)))
    for (const receiver of receivers) await sender.send(receiver.peerId, new TextEncoder().encode('one of many circuits'))
    expect(await relay.metric('meganet_relay_circuits_opened_total')).toBe(receivers.length)
  })

  it('closes a circuit past its data limit', async () => {
    const relay = await anchor({ 'relay-circuit-data-limit': '4KiB', 'relay-circuit-duration-limit': 'unlimited' })
    const receiver = await peer(relay)
    const sender = await peer(relay)
    await expect(sender.send(receiver.peerId, new Uint8Array(32 * 1024))).rejects.toThrow()
    await eventually(async () => (await relay.metric('meganet_relay_circuits_closed_by_limit_total{limit="data"}')) >= 1 ? true : undefined, 10_000, 'data-limit cut counted')
  })

  it('closes a circuit past its duration limit', async () => {
    const relay = await anchor({ 'relay-circuit-duration-limit': '1s', 'relay-circuit-data-limit': 'unlimited' })
    const receiver = await peer(relay)
    const sender = await peer(relay)
    await sender.send(receiver.peerId, new TextEncoder().encode('short-lived circuit'))
    expect(await relay.metric('meganet_relay_circuits')).toBe(1)
    await eventually(async () => (await relay.metric('meganet_relay_circuits_closed_by_limit_total{limit="duration"}')) >= 1 ? true : undefined, 10_000, 'duration-limit cut counted')
    expect(await relay.metric('meganet_relay_circuits')).toBe(0)
  })

  it('carries large transfers when limits are lifted', async () => {
    const relay = await anchor({ 'relay-circuit-data-limit': 'unlimited', 'relay-circuit-duration-limit': 'unlimited' })
    const receiver = await peer(relay)
    const sender = await peer(relay)
    let received = 0
    receiver.onMessage(m => { received += m.data.byteLength })
    for (let i = 0; i < 8; i++) await sender.send(receiver.peerId, new Uint8Array(64 * 1024))
    expect(received).toBe(8 * 64 * 1024)
    expect(await relay.metric('meganet_relay_relayed_bytes_total')).toBeGreaterThan(8 * 64 * 1024)
  })
})
