import { abuse } from './abuse.js'
import { browserPeer } from './browser-peer.js'
import { capacity } from './capacity.js'
import { cliSend } from './cli-send.js'
import { dhtLookup } from './dht-lookup.js'
import { federation } from './federation.js'
import { peerIdle } from './peer-idle.js'
import { reconnectStorm } from './reconnect-storm.js'
import { relayThroughput } from './relay-throughput.js'
import { storage } from './storage.js'
import type { Benchmark } from './bench-types.js'

/** Every benchmark `npm run bench:anchors` knows, by name. */
export const BENCHMARKS: readonly Benchmark[] = [
  { name: 'capacity', description: 'peers holding relay reservations on one anchor, ramped in steps: anchor RSS per peer, join latency p50/p99', run: capacity },
  { name: 'reconnect-storm', description: 'an anchor holding 10,000 reservations of go-libp2p peers (the peer library\'s redial policy) is killed and restarted: time until every peer reserved again, anchor peak RSS', run: reconnectStorm('go') },
  { name: 'reconnect-storm-js', description: 'the same storm with js-libp2p peers running the peer library\'s AnchorMesh (six processes, on the same cores as the anchor)', run: reconnectStorm('js') },
  { name: 'dht-lookup', description: 'peer lookup latency through the fleet peer directory vs a DHT walk, N peers on five anchors', run: dhtLookup },
  { name: 'relay-throughput', description: 'bytes/s through one anchor relay vs a plain TCP proxy and a direct libp2p connection', run: relayThroughput },
  { name: 'peer-idle', description: 'CPU of an idle Node peer and an idle browser peer (web app in Chromium), anchors up and after all anchors were killed', run: peerIdle },
  { name: 'browser-peer', description: 'browser peer join p50 over WebRTC-direct vs a Node peer over TCP, and page -> Node file throughput vs Node -> Node', run: browserPeer },
  { name: 'storage', description: 'put/get MB/s of a file on a four-anchor fleet (R=3, W=2) vs the local disk, and repair time after losing an anchor', run: storage },
  { name: 'cli-send', description: 'wall time of meganet peer send (a new process each time) on a three-anchor devnet, beside meganet --version', run: cliSend },
  { name: 'federation', description: 'three operators (own NATS, fleets peered): cross-operator lookups and messages, then one operator killed: its peers re-join the others', run: federation },
  { name: 'abuse', description: 'each attack of issues 13 and 17 against a three-anchor fleet while honest peers reserve, message, put and get: honest success and anchor RSS', run: abuse }
]
