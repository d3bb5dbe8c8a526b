import { execFile } from 'node:child_process'
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto'
import { argv } from 'node:process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/** The largest payload of one Noise message: what a busy connection seals. */
const MESSAGE_BYTES = 65_519
const PROBE_CPU_MICROS = 300_000
/** A whole round: a process's first one also pays for the memory it has not touched yet (about a third of the rate). */
const WARM_UP_CPU_MICROS = 300_000
const PROBE_PATH = fileURLToPath(import.meta.url)
const PROBE_TIMEOUT_MS = 30_000

/** Seals for `cpuMicros` of this process's CPU and returns MB sealed per CPU second. */
function seal (cpuMicros: number): number {
  // A throwaway key: nothing sealed here is kept or sent, so the fixed nonce is harmless.
  const key = createSecretKey(randomBytes(32))
  const nonce = Buffer.alloc(12)
  const message = randomBytes(MESSAGE_BYTES)
  const start = process.cpuUsage()
  let sealed = 0
  let used = 0
  while (used < cpuMicros) {
    for (let i = 0; i < 16; i++) {
      const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
      cipher.update(message)
      cipher.final()
      cipher.getAuthTag()
      sealed += MESSAGE_BYTES
    }
    const usage = process.cpuUsage(start)
    used = usage.user + usage.system
  }
  return sealed / used
}

/**
 * How fast this machine seals Noise-sized messages with ChaCha20-Poly1305 now, in MB per CPU
 * second: the cipher every relayed and stored byte goes through, twice per hop. On the shared
 * VMs these benchmarks run on it has moved 4-6× within minutes with nothing else changed (the
 * slow stretch coincided with a slow AVX-512 IFMA Poly1305 in OpenSSL, docs/BENCHMARKS.md), so
 * a result is read next to it.
 *
 * It runs in a fresh Node process: in the benchmark's own, whose heap holds libp2p and the
 * benchmark's data, the sealed messages' buffers start mark-compacts of that heap, and the
 * probe measured those more than the cipher (167-216 against 1,400-1,800 MB/s).
 */
export async function sealMBPerCpuSecond (): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [PROBE_PATH], { timeout: PROBE_TIMEOUT_MS })
  const rate = Number(stdout.trim())
  if (!Number.isFinite(rate) || rate <= 0) throw new Error(`the seal probe printed ${JSON.stringify(stdout.slice(0, 100))}, not a rate`)
  return rate
}

if (argv[1] === PROBE_PATH) {
  seal(WARM_UP_CPU_MICROS)
  process.stdout.write(`${seal(PROBE_CPU_MICROS)}\n`)
}
