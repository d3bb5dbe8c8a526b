import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto'

/** The largest payload of one Noise message: what a busy connection seals. */
const MESSAGE_BYTES = 65_519
const PROBE_CPU_MICROS = 300_000
const WARM_UP_CPU_MICROS = 50_000

/**
 * How fast this process seals Noise-sized messages with ChaCha20-Poly1305 now, in MB per CPU
 * second: the cipher every relayed and stored byte goes through, twice per hop. On the shared
 * VMs these benchmarks run on it has moved 4-6× within minutes with nothing else changed (the
 * slow stretch coincided with a slow AVX-512 IFMA Poly1305 in OpenSSL, docs/BENCHMARKS.md), so
 * a result is read next to it.
 */
export function sealMBPerCpuSecond (): number {
  // A throwaway key: nothing sealed here is kept or sent, so the fixed nonce is harmless.
  const key = createSecretKey(randomBytes(32))
  const nonce = Buffer.alloc(12)
  const message = randomBytes(MESSAGE_BYTES)
  const seal = (cpuMicros: number): number => {
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
  // The first calls compile the JavaScript around the cipher: not counted.
  seal(WARM_UP_CPU_MICROS)
  return seal(PROBE_CPU_MICROS)
}
