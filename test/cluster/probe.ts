import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { WaitTimeoutError } from './errors.js'
import type { IncomingMessage } from 'node:http'

/** TLS material for https probes: a CA and a client certificate, or `insecure` for self-signed servers. */
export interface ProbeTls {
  readonly ca?: string | Buffer
  readonly cert?: string | Buffer
  readonly key?: string | Buffer
  readonly insecure?: boolean
}

export interface ProbeResponse {
  readonly status: number
  readonly body: string
}

const PROBE_TIMEOUT_MS = 2_000

/** One GET; rejects on connection errors and after a short timeout. */
export async function get (url: string, tls: ProbeTls = {}, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResponse> {
  return await new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    }
    const req = url.startsWith('https:')
      ? httpsRequest(url, { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.insecure !== true, timeout: timeoutMs }, onResponse)
      : httpRequest(url, { timeout: timeoutMs }, onResponse)
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** A health check: true when the URL answers 200. Errors count as "not yet". */
export function healthy (url: string, tls: ProbeTls = {}): () => Promise<boolean> {
  return async () => {
    try {
      return (await get(url, tls)).status === 200
    } catch {
      return false
    }
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls `check` until it returns a value other than undefined; throws after `timeoutMs`, naming `what`. */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (true) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : ''
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError })
    }
    await sleep(intervalMs)
  }
}
