/** What an anchor does for the network. Every anchor can do all of them. */
export const ANCHOR_ROLES = ['bootstrap', 'relay', 'storage'] as const

export type AnchorRole = (typeof ANCHOR_ROLES)[number]

export function isAnchorRole (value: string): value is AnchorRole {
  return (ANCHOR_ROLES as readonly string[]).includes(value)
}
