import { SNAPSHOT_TIME_HEADER } from '../../node-image/src/http/http-server.js'

const POLL_MS = 200
const MAX_POLLS = 25

/** An endpoint's answer and when the anchor computed it (absent if it does not say). */
export interface TimedAnswer {
  readonly body: string
  readonly at?: number
}

/** One request to an anchor endpoint, with its snapshot time. */
export async function timedAnswer (url: string): Promise<TimedAnswer> {
  const response = await fetch(url)
  const at = response.headers.get(SNAPSHOT_TIME_HEADER)
  return { body: await response.text(), ...(at != null ? { at: Number(at) } : {}) }
}

/**
 * An answer as of now. /status and /metrics answer from a snapshot up to a second old; a test
 * comparing values before and after an action needs one taken after it. `ask` is retried until
 * the snapshot is newer than `since`.
 */
export async function freshAnswer (what: string, ask: () => Promise<TimedAnswer>, since = Date.now()): Promise<string> {
  for (let poll = 0; ; poll++) {
    const { body, at } = await ask()
    if (at == null || at >= since) return body
    if (poll >= MAX_POLLS) throw new Error(`${what} still answers from a snapshot taken before ${new Date(since).toISOString()}`)
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
}

/** The body of an anchor endpoint as of now. */
export async function freshSnapshot (url: string): Promise<string> {
  return await freshAnswer(url, async () => await timedAnswer(url))
}
