import { constants } from 'node:os'
import type { Server } from 'node:net'

/**
 * Makes a listening server report a failed `accept` (EMFILE) the way Node does when libuv hands
 * it one: through the listening handle's `onconnection`, which emits `error` on the server. A
 * real EMFILE cannot be provoked here (libuv's spare descriptor absorbs it), but ENFILE, ENOMEM
 * and ENOBUFS, or EMFILE while that descriptor is taken, reach a server the same way.
 */
export function failAccept (server: Server): void {
  const handle = (server as unknown as { _handle?: { onconnection?: (status: number) => void } })._handle
  if (handle?.onconnection == null) throw new Error('the server is not listening')
  handle.onconnection(-constants.errno.EMFILE)
}
