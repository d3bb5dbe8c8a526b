#!/usr/bin/env node
import { join } from 'node:path'
import { Command } from 'commander'
import { BenchProfiler, unprofiledPhase } from './bench-profiler.js'
import { recordResult } from './bench-report.js'
import { BENCHMARKS } from './benchmarks.js'
import type { BenchResult } from './bench-types.js'

/** `npm run bench:anchors -- [names...]`: the anchor benchmarks, side by side with their comparators. */
const program = new Command('bench:anchors')
  .description(`run benchmarks side by side with their comparators: ${BENCHMARKS.map(b => b.name).join(', ')} (all by default)`)
  .argument('[names...]', 'benchmarks to run')
  .option('--smoke', 'tiny sizes: only check that each benchmark still works')
  .option('--out <dir>', 'folder for JSON results', 'bench-results')
  .option('--report <file>', 'Markdown report to update (not with --smoke)', 'docs/BENCHMARKS.md')
  .option('--profile <dir>', 'CPU profiles of this process and every Node process a benchmark starts, in <dir>/<benchmark>/, with summary.md: each one\'s busiest functions in each phase')
  .action(async (names: string[], options: { smoke?: boolean, out: string, report: string, profile?: string }) => {
    const unknown = names.filter(n => !BENCHMARKS.some(b => b.name === n))
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map(b => b.name).join(', ')}\n`)
      process.exit(2)
    }
    const selected = names.length === 0 ? BENCHMARKS : BENCHMARKS.filter(b => names.includes(b.name))
    for (const bench of selected) {
      process.stderr.write(`${bench.name}: ${bench.description}\n`)
      const profiler = options.profile == null ? undefined : await BenchProfiler.start(options.profile, bench.name)
      const progress = (message: string): void => { process.stderr.write(`  ${bench.name}: ${message}\n`) }
      let result: BenchResult
      try {
        result = await bench.run({ smoke: options.smoke === true, progress, phase: profiler == null ? unprofiledPhase : async (label, run) => await profiler.phase(label, run) })
      } finally {
        if (profiler != null) progress(`CPU profiles summarized in ${await profiler.stop()}`)
      }
      process.stdout.write(`${result.name}: ${result.summary}\n`)
      if (options.smoke !== true) await recordResult(result, join(options.out, `${result.name}.json`), options.report)
    }
  })

try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
