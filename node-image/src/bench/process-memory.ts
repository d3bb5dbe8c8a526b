import { readFile } from 'node:fs/promises'

/** Resident set size of a process, from /proc (Linux). */
export async function residentBytes (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
  if (kib == null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(kib) * 1024
}
