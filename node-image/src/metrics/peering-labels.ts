/**
 * The `peering` label of each peered fleet's metrics: its bootstrap URL without what may be a
 * secret (user info, and the whole query: an operator may hand out a URL with a token in it,
 * as a value or bare), and with ` #2`, ` #3`… on URLs that only differed there, so every fleet
 * keeps a series of its own. The path stays: a bootstrap URL is given to every peer.
 */
export function peeringLabels (bootstrapUrls: readonly string[]): string[] {
  const seen = new Map<string, number>()
  return bootstrapUrls.map(text => {
    const base = redacted(text)
    const count = (seen.get(base) ?? 0) + 1
    seen.set(base, count)
    return count === 1 ? base : `${base} #${count}`
  })
}

function redacted (text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'unparsable URL'
  }
  return `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`
}
