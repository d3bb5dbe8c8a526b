import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'

/** Resident set size of a process, from /proc (Linux). */
export async function residentBytes (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
  if (kib == null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(kib) * 1024
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks / 100
}

/** CPU seconds all these processes have used so far; exited ones count as 0. */
export async function cpuSecondsOf (children: readonly ChildProcess[]): Promise<number> {
  let total = 0
  for (const child of children) if (child.pid != null) total += await cpuSeconds(child.pid).catch(() => 0)
  return total
}
