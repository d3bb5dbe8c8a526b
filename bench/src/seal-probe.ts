import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const WORKER_PATH = fileURLToPath(new URL('../dist/seal-probe-worker.js', import.meta.url))
const PROBE_TIMEOUT_MS = 30_000

export class SealProbeError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SealProbeError'
  }
}

/**
 * How fast a fresh Node process seals Noise-sized messages with ChaCha20-Poly1305 now, in MB per
 * CPU second: the cipher every relayed and stored byte goes through, twice per hop. On the shared
 * VMs these benchmarks run on it has moved 4-6× within minutes with nothing else changed (the
 * slow stretch coincided with a slow AVX-512 IFMA Poly1305 in OpenSSL, docs/BENCHMARKS.md), so
 * a result is read next to it. It reads the machine as the benchmark finds it, beside whatever
 * else runs there (its fleet, idle or not).
 *
 * A process of its own, with no `NODE_OPTIONS` (not `--profile`'s profiler either): inside the
 * benchmark's process, whose heap holds libp2p and the benchmark's data, the probe read 167-216
 * MB/s where a fresh process read 1,400-1,800 (docs/BENCHMARKS.md, storage section).
 */
export async function sealMBPerCpuSecond (): Promise<number> {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  let stdout: string
  try {
    ({ stdout } = await run(process.execPath, [WORKER_PATH], { env, timeout: PROBE_TIMEOUT_MS }))
  } catch (err) {
    throw new SealProbeError(`the seal probe ${WORKER_PATH} failed; run \`npm run build\` if it is missing`, { cause: err })
  }
  const rate = Number(stdout.trim())
  if (!Number.isFinite(rate) || rate <= 0) throw new SealProbeError(`the seal probe ${WORKER_PATH} printed ${JSON.stringify(stdout.slice(0, 100))}, not a rate`)
  return rate
}
