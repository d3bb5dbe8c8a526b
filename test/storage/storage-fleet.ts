import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { coordinationOf, fleetAnchor } from '../coordination/fleet.js'
import type { TestNats } from '../helpers/nats.js'

/** Storage timings for tests: repair every second, replication 3, write quorum 2. */
export const STORAGE_FLAGS = { 'storage-repair-interval': '1s', 'storage-replication': '3', 'storage-write-quorum': '2' }

export async function storageFleet (nats: TestNats, fleet: string, size: number, flags: Record<string, string> = {}): Promise<AnchorProcess[]> {
  const anchors: AnchorProcess[] = []
  for (let i = 0; i < size; i++) anchors.push(await fleetAnchor(nats.url, fleet, { ...STORAGE_FLAGS, ...flags }))
  await waitForMembers(anchors, size)
  return anchors
}

export async function waitForMembers (anchors: AnchorProcess[], count: number): Promise<void> {
  for (const anchor of anchors) {
    await eventually(async () => {
      const view = await coordinationOf(anchor)
      return view.coordination.members === count && view.anchors.connected >= count - 1 ? true : undefined
    }, 20_000, `${count} storage members`)
  }
}

export interface StorageStatus { storage: { blocks: number, storedBytes: number, underReplicated: number } }

/** How many of these anchors hold each block, asked over their /status-independent store protocol by the caller. */
export async function blocksOn (anchor: AnchorProcess): Promise<number> {
  return (await anchor.json<StorageStatus>('/status')).storage.blocks
}

export { AnchorProcess }
