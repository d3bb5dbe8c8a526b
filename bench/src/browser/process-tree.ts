import { readdir, readFile } from 'node:fs/promises'
import { cpuSeconds } from '../process-usage.js'

async function parentMap (): Promise<Map<number, number>> {
  const parents = new Map<number, number>()
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined)
    if (stat == null) continue
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    parents.set(Number(entry), ppid)
  }
  return parents
}

/** The direct children of `pid`, from /proc (Linux). */
export async function childrenOf (pid: number): Promise<number[]> {
  return [...(await parentMap())].filter(([, parent]) => parent === pid).map(([child]) => child)
}

/** Every process below `root` (children, grandchildren…), from /proc (Linux). */
export async function descendants (root: number): Promise<number[]> {
  const parents = await parentMap()
  const found: number[] = []
  const walk = (pid: number): void => {
    for (const [child, parent] of parents) if (parent === pid) { found.push(child); walk(child) }
  }
  walk(root)
  return found
}

/** CPU seconds used so far by `pids` (gone ones count 0). */
export async function cpuSecondsOfPids (pids: readonly number[]): Promise<number> {
  let total = 0
  for (const pid of pids) total += await cpuSeconds(pid).catch(() => 0)
  return total
}
