/**
 * A child process hosting many simulated peers for the `dht-lookup` benchmark: argv[2] is JSON
 * `{ anchors, count, offset }`; peer i joins only anchors[(offset + i) % anchors.length] and holds
 * a relay reservation there. Prints `{"peerIds":[...]}` on stdout once all are reachable, then
 * stays up until killed.
 */
import { MeganetPeer } from '@meganet/node/peer'

interface WorkerInput { anchors: string[], count: number, offset: number }

const BATCH = 10

async function main (): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as WorkerInput
  const peers: MeganetPeer[] = []
  for (let start = 0; start < input.count; start += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, input.count - start) }, async (_, j) => {
      const anchor = input.anchors[(input.offset + start + j) % input.anchors.length] as string
      const peer = await MeganetPeer.create({ anchors: [anchor], allowPrivateAddresses: true, reservationTimeoutMs: 60_000 })
      await peer.start()
      return peer
    }))
    peers.push(...batch)
  }
  process.stdout.write(JSON.stringify({ peerIds: peers.map(p => p.peerId) }) + '\n')
  setInterval(() => {}, 60_000)
}

main().catch((err: unknown) => {
  process.stderr.write(`dht-peer-worker: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
