import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { cpus, totalmem, release } from 'node:os'
import { dirname } from 'node:path'
import type { BenchResult } from './bench-types.js'

export interface MachineInfo {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly kernel: string
  readonly node: string
}

export function machineInfo (): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version
  }
}

function section (result: BenchResult, machine: MachineInfo, when: string): string {
  const rows = Object.entries(result.metrics).map(([key, value]) => `| ${key} | ${Number.isInteger(value) ? value : value.toFixed(3)} |`).join('\n')
  return `<!-- bench:${result.name} -->\n## ${result.name}\n\n${result.summary}\n\nMeasured ${when} on ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}` +
    `${result.goalMet == null ? '' : `; goal ${result.goalMet ? 'met' : 'NOT met'}`}.\n\n| metric | value |\n| --- | --- |\n${rows}\n<!-- /bench:${result.name} -->\n`
}

/** Writes the JSON result and replaces (or appends) the benchmark's section in the report. */
export async function recordResult (result: BenchResult, jsonPath: string, reportPath: string): Promise<void> {
  const machine = machineInfo()
  const when = new Date().toISOString()
  await mkdir(dirname(jsonPath), { recursive: true })
  await writeFile(jsonPath, JSON.stringify({ ...result, machine, when }, null, 2))
  let report = await readFile(reportPath, 'utf8').catch(() => '# Benchmarks\n\nWritten by `npm run bench`; each section is replaced when its benchmark runs again. Ratios are measured side by side in one run.\n\n')
  const pattern = new RegExp(`<!-- bench:${result.name} -->[\\s\\S]*?<!-- /bench:${result.name} -->\\n`)
  const text = section(result, machine, when)
  report = pattern.test(report) ? report.replace(pattern, text) : `${report}${text}\n`
  await writeFile(reportPath, report)
}
