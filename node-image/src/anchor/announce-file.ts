import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import type { Logger } from 'pino'

/**
 * The anchor's side of the operator's announce addresses (cdk8s/src/announce-addresses.ts): a
 * file (a key of a mounted ConfigMap) holding `{ "node"?: string, "addresses": [multiaddr…] }`.
 * An entry made for another node (the pod was rescheduled, the ConfigMap not yet updated) does
 * not count. The kubelet refreshes mounted ConfigMaps within about a minute, so the file is
 * polled.
 */
const entrySchema = z.strictObject({
  node: z.string().min(1).optional(),
  addresses: z.array(z.string().max(512).refine(text => { try { multiaddr(text); return true } catch { return false } }, { message: 'not a multiaddr' })).max(32)
})

const POLL_MS = 2_000

export interface AnnounceFileInit {
  readonly path: string
  /** This pod's node ($NODE_NAME); an entry for another node is ignored. */
  readonly nodeName?: string
  readonly log: Logger
}

/** The addresses in the file when it holds a valid entry for this node, else undefined. */
export async function readAnnounceFile (init: AnnounceFileInit): Promise<string[] | undefined> {
  const text = await readFile(init.path, 'utf8').catch(() => undefined)
  if (text == null || text.trim() === '') return undefined
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    init.log.warn({ path: init.path, err: (err as Error).message }, 'announce file is not JSON; ignoring it')
    return undefined
  }
  const parsed = entrySchema.safeParse(json)
  if (!parsed.success) {
    init.log.warn({ path: init.path, problem: parsed.error.issues[0]?.message }, 'announce file is not an announce entry; ignoring it')
    return undefined
  }
  if (parsed.data.node != null && init.nodeName != null && parsed.data.node !== init.nodeName) return undefined
  return parsed.data.addresses
}

/** Waits up to `timeoutMs` for a valid entry; [] (and a warning) when none came. */
export async function waitForAnnounceFile (init: AnnounceFileInit & { readonly timeoutMs: number }): Promise<string[]> {
  const deadline = Date.now() + init.timeoutMs
  let logged = false
  for (;;) {
    const addresses = await readAnnounceFile(init)
    if (addresses != null) return addresses
    if (Date.now() >= deadline) {
      init.log.warn({ path: init.path, waitedMs: init.timeoutMs }, 'no announce addresses for this node yet; starting with the listen addresses (a later entry restarts the anchor)')
      return []
    }
    if (!logged) init.log.info({ path: init.path, node: init.nodeName }, 'waiting for the operator to write this anchor\'s announce addresses')
    logged = true
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
}

/**
 * Polls the file and calls `onChange` once when its entry differs from `current` (a load
 * balancer got its address late, or a new one). Returns a function that stops the polling.
 */
export function watchAnnounceFile (init: AnnounceFileInit & { readonly current: readonly string[], readonly onChange: (addresses: string[]) => void }): () => void {
  const key = (list: readonly string[]): string => [...list].sort().join(',')
  const timer = setInterval(() => {
    void readAnnounceFile(init).then(addresses => {
      if (addresses == null || key(addresses) === key(init.current)) return
      clearInterval(timer)
      init.onChange(addresses)
    })
  }, POLL_MS * 5)
  timer.unref()
  return () => { clearInterval(timer) }
}
