/** Short forms of long identifiers for terminal output. */
export function shortId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}
