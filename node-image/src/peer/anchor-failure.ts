/** Every message in an error, its causes and (for "All multiaddr dials failed") the errors inside. */
function messagesOf (err: unknown, depth = 0): string[] {
  if (!(err instanceof Error) || depth > 4) return typeof err === 'string' ? [err] : []
  const inner = err instanceof AggregateError ? err.errors.flatMap(e => messagesOf(e, depth + 1)) : []
  return [`${err.name}: ${err.message}`, ...inner, ...messagesOf(err.cause, depth + 1)]
}

/** What a failed dial to an anchor means for a person, and what to do, in a few words. */
export function anchorFailureReason (err: unknown): string {
  const text = messagesOf(err).join('\n')
  if (/UnexpectedPeer|does not match|unexpected peer|InvalidPeerId/i.test(text)) return 'a node answers there with another PeerId: copy the anchor\'s whole address again'
  if (/ECONNREFUSED/.test(text)) return 'nothing listens there: is the anchor running, and is the port right?'
  if (/EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(text)) return 'that host cannot be reached from this network'
  if (/Timeout|timed out|AbortError|aborted/i.test(text)) return 'no answer in time: check the host, and that no firewall is in the way'
  if (/NoValidAddresses|no valid addresses|not dialable|transport/i.test(text)) return 'this peer has no transport for that address'
  return text.split('\n')[0] ?? 'unknown error'
}
