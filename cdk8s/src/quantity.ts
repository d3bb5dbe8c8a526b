const FACTORS: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4
}

/** Bytes in a Kubernetes storage quantity (`10Gi`, `500M`, `1073741824`). */
export function quantityBytes (quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(quantity)
  if (match == null) throw new RangeError(`${JSON.stringify(quantity)} is not a storage quantity`)
  return Math.floor(Number(match[1]) * (FACTORS[match[2] ?? ''] ?? 1))
}
