import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import type { Logger } from 'pino'

/**
 * The anchor's side of the operator's announce addresses (cdk8s/src/announce-addresses.ts): a
 * file (a key of a mounted ConfigMap) holding `{ "node"?: string, "addresses": [multiaddr…],
 * "udpPorts"?: { "<announced UDP port>": <own port> } }`.
 * An entry made for another node (the pod was rescheduled, the ConfigMap not yet updated) does
 * not count. The kubelet refreshes mounted ConfigMaps within about a minute, so the file is
 * polled.
 */
const port = z.number().int().min(1).max(65_535)
// Not strict: during a rolling upgrade a newer operator may write fields this anchor does not
// know yet (as `udpPorts` once was); it reads what it knows instead of dropping the whole entry.
const entrySchema = z.object({
  node: z.string().min(1).optional(),
  addresses: z.array(z.string().max(512).refine(text => { try { multiaddr(text); return true } catch { return false } }, { message: 'not a multiaddr' })).max(32),
  udpPorts: z.record(z.string().regex(/^[1-9]\d{0,4}$/), port).refine(map => Object.keys(map).length <= 8, { message: 'more than 8 UDP ports' }).optional()
})

/** What the operator announces for this anchor. */
export interface AnnouncedAddresses {
  readonly addresses: string[]
  /** Announced UDP port → this anchor's own port, where they differ (NodePort). */
  readonly udpPorts: ReadonlyMap<number, number>
}

const NONE: AnnouncedAddresses = { addresses: [], udpPorts: new Map() }

const POLL_MS = 2_000

export interface AnnounceFileInit {
  readonly path: string
  /** This pod's node ($NODE_NAME); an entry for another node is ignored. */
  readonly nodeName?: string
  readonly log: Logger
}

/** The entry in the file when it holds a valid one for this node, else undefined. */
export async function readAnnounceFile (init: AnnounceFileInit): Promise<AnnouncedAddresses | undefined> {
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
  return { addresses: parsed.data.addresses, udpPorts: new Map(Object.entries(parsed.data.udpPorts ?? {}).map(([from, to]) => [Number(from), to])) }
}

/** Waits up to `timeoutMs` for a valid entry; none (and a warning) when none came. */
export async function waitForAnnounceFile (init: AnnounceFileInit & { readonly timeoutMs: number }): Promise<AnnouncedAddresses> {
  const deadline = Date.now() + init.timeoutMs
  let logged = false
  for (;;) {
    const announced = await readAnnounceFile(init)
    if (announced != null) return announced
    if (Date.now() >= deadline) {
      init.log.warn({ path: init.path, waitedMs: init.timeoutMs }, 'no announce addresses for this node yet; starting with the listen addresses (a later entry restarts the anchor)')
      return NONE
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
export function watchAnnounceFile (init: AnnounceFileInit & { readonly current: AnnouncedAddresses, readonly onChange: (announced: AnnouncedAddresses) => void }): () => void {
  const key = (entry: AnnouncedAddresses): string => JSON.stringify([[...entry.addresses].sort(), [...entry.udpPorts].sort(([a], [b]) => a - b)])
  const timer = setInterval(() => {
    void readAnnounceFile(init).then(announced => {
      if (announced == null || key(announced) === key(init.current)) return
      clearInterval(timer)
      init.onChange(announced)
    })
  }, POLL_MS * 5)
  timer.unref()
  return () => { clearInterval(timer) }
}
