import { it } from 'vitest'
import { MeganetPeer } from '../node-image/src/peer/index.js'
import { AnchorProcess } from './helpers/anchor-process.js'
import { ATTACKS } from '../bench/src/abuse-attacks.js'
it('dbg', async () => {
  const relay = await AnchorProcess.start()
  const peers: MeganetPeer[] = []
  for (let i = 0; i < 4; i++) { const p = await MeganetPeer.create({ anchors: [relay.tcpAddress], allowPrivateAddresses: true }); await p.start(); peers.push(p) }
  const attack = ATTACKS.find(a => a.name === 'relay-starvation')!
  const running = await attack.start({ anchors: [relay.anchor], natsUrl: '', scope: { region: 'local', fleet: 'x' }, victims: () => peers.map(p => ({ peerId: p.peerId, anchor: relay.anchor })) })
  let ok = 0; const fails: string[] = []
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    for (let i = 0; i < 4; i++) {
      try { await peers[i]!.send(peers[(i + 1) % 4]!.peerId, new TextEncoder().encode('x')); ok++ } catch (err) { fails.push((err as Error).message + ' ' + String((err as Error & { errors?: Error[] }).errors?.map(e => e.message))) }
    }
    await new Promise(r => setTimeout(r, 500))
  }
  await running.stop()
  const m = (await relay.metrics()).split('\n').filter(l => l.startsWith('meganet_relay_')).join('\n')
  process.stderr.write(`XX ok ${ok} fails ${fails.length} ${fails.slice(0, 3).join(' | ')}\n${m}\n`)
  await Promise.all(peers.map(async p => await p.stop())); await relay.cleanup()
}, 300_000)
