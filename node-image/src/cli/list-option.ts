/** A repeatable, comma-separated option: `--x a,b --x c` → `['a', 'b', 'c']`. */
export function collect (value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map(s => s.trim()).filter(s => s.length > 0)]
}
