import { capacity } from './capacity.js'
import { dhtLookup } from './dht-lookup.js'
import { relayThroughput } from './relay-throughput.js'
import { storage } from './storage.js'
import type { Benchmark } from './bench-types.js'

/** Every benchmark `npm run bench:anchors` knows, by name. */
export const BENCHMARKS: readonly Benchmark[] = [
  { name: 'capacity', description: 'peers holding relay reservations on one anchor, ramped in steps: anchor RSS per peer, join latency p50/p99', run: capacity },
  { name: 'dht-lookup', description: 'peer lookup latency through the fleet peer directory vs a DHT walk, N peers on five anchors', run: dhtLookup },
  { name: 'relay-throughput', description: 'bytes/s through one anchor relay vs a plain TCP proxy and a direct libp2p connection', run: relayThroughput },
  { name: 'storage', description: 'put/get MB/s of a file on a four-anchor fleet (R=3, W=2) vs the local disk, and repair time after losing an anchor', run: storage }
]
