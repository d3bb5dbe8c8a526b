/** Recommended `app.kubernetes.io/*` labels; selectors use name + instance only. */
export const PART_OF = 'meganet'
export const ANCHOR_APP = 'meganet-anchor'
export const OPERATOR_APP = 'meganet-operator'

export function selectorLabels (name: string, instance: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': instance }
}

export function standardLabels (name: string, instance: string, component: string, version?: string): Record<string, string> {
  return {
    ...selectorLabels(name, instance),
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': OPERATOR_APP,
    ...(version != null ? { 'app.kubernetes.io/version': version } : {})
  }
}
