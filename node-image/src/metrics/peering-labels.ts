/**
 * The `peering` label of each peered fleet's metrics: its bootstrap URL without what may be a
 * secret (user info, query values: an operator may hand out a URL with a token in it), and with
 * ` #2`, ` #3`… on URLs that only differed there, so every fleet keeps a series of its own.
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
  const keys = [...url.searchParams.keys()]
  const query = keys.length === 0 ? '' : `?${keys.map(k => `${encodeURIComponent(k)}=…`).join('&')}`
  return `${url.protocol}//${url.host}${url.pathname}${query}`
}
