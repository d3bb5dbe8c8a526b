export interface BenchContext {
  /** A short run that only proves the benchmark still works (the test command runs it). */
  readonly smoke: boolean
  progress: (message: string) => void
}

export interface BenchResult {
  readonly name: string
  /** One line for people: the headline numbers and ratios. */
  readonly summary: string
  readonly metrics: Record<string, number>
  /** Whether the target was met (undefined when the benchmark has none). */
  readonly goalMet?: boolean
}

export interface Benchmark {
  readonly name: string
  readonly description: string
  run: (context: BenchContext) => Promise<BenchResult>
}
