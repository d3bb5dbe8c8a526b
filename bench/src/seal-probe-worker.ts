#!/usr/bin/env node
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto'

/**
 * The seal probe's process (`seal-probe.ts`): seals Noise-sized messages with ChaCha20-Poly1305
 * for one untimed round, then one timed round, and prints MB sealed per CPU second.
 */

/** The largest payload of one Noise message: what a busy connection seals. */
const MESSAGE_BYTES = 65_519
const PROBE_CPU_MICROS = 300_000
/** A whole round: a process's first one also pays for the memory it has not touched yet (about a third of the rate). */
const WARM_UP_CPU_MICROS = 300_000

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

seal(WARM_UP_CPU_MICROS)
process.stdout.write(`${seal(PROBE_CPU_MICROS)}\n`)
