/** Which anchors take part in storage, as this anchor sees its fleet now. */
export interface StorageFleet {
  readonly self: string
  /** Storage anchors that take new blocks (serving, with the storage role), this one included if so. */
  placementAnchors: () => string[]
  /** Every live storage anchor, draining ones too: where blocks may still be read. */
  readableAnchors: () => string[]
  /** True for an anchor of this fleet (only they may replicate blocks here). */
  isMember: (peerId: string) => boolean
}
