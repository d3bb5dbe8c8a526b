import { relayThroughput } from './relay-throughput.js'
import type { Benchmark } from './bench-types.js'

/** Every benchmark `meganet bench` knows, by name. */
export const BENCHMARKS: readonly Benchmark[] = [
  { name: 'relay-throughput', description: 'bytes/s through one anchor relay vs a plain TCP proxy and a direct libp2p connection', run: relayThroughput }
]
