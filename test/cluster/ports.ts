import { freePort } from '../../node-image/src/net/ports.js'

/**
 * `count` distinct TCP ports that were free a moment ago on 127.0.0.1, picked below the kernel's
 * ephemeral range (see `freePort`): the control plane binds them later, and a port from the
 * ephemeral range could meanwhile go to any outgoing connection.
 */
export async function freePorts (count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}
