/**
 * Converts the zod schemas of custom resources into Kubernetes structural OpenAPI v3 schemas:
 * every node typed, defaults kept, `x-kubernetes-validations` (CEL) from {@link celRules}.
 * Covers the zod kinds the CRDs use; anything else is refused, so a new kind cannot slip in
 * unconverted.
 */
import { z } from 'zod'

export interface CelRule {
  readonly rule: string
  readonly message: string
}

const rules = new WeakMap<z.ZodType, readonly CelRule[]>()
const mapKeys = new WeakMap<z.ZodType, readonly string[]>()
const embedded = new WeakSet<z.ZodType>()

/** Attaches CEL validation rules to a schema node. */
export function celRules<T extends z.ZodType> (schema: T, list: readonly CelRule[]): T {
  rules.set(schema, list)
  return schema
}

/**
 * Marks an array as a map keyed by `keys` (`x-kubernetes-list-type: map`), as Kubernetes does for
 * conditions: server-side apply then merges entries by key instead of replacing the whole list.
 */
export function listMap<T extends z.ZodType> (schema: T, keys: readonly string[]): T {
  mapKeys.set(schema, keys)
  return schema
}

/**
 * An embedded Kubernetes object (an Affinity, a Volume, …): any JSON object, kept as it is
 * (`x-kubernetes-preserve-unknown-fields`); the API server checks it where it ends up.
 */
export function embeddedObject (): z.ZodType<Record<string, unknown>> {
  const schema = z.record(z.string(), z.unknown())
  embedded.add(schema)
  return schema
}

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean'
  description?: string
  properties?: Record<string, StructuralSchema>
  required?: string[]
  items?: StructuralSchema
  additionalProperties?: StructuralSchema
  enum?: Array<string | number>
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: boolean
  exclusiveMaximum?: boolean
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  default?: unknown
  'x-kubernetes-validations'?: CelRule[]
  'x-kubernetes-preserve-unknown-fields'?: boolean
  'x-kubernetes-list-type'?: 'map'
  'x-kubernetes-list-map-keys'?: string[]
}

interface Def { type: string, [key: string]: unknown }

function defOf (schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def
}

function checksOf (schema: z.ZodType): Array<Record<string, unknown>> {
  const checks = (defOf(schema).checks ?? []) as Array<{ _zod: { def: Record<string, unknown> } }>
  return checks.map(c => c._zod.def)
}

export function structuralSchema (schema: z.ZodType): StructuralSchema {
  if (embedded.has(schema)) return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }
  const def = defOf(schema)
  let out: StructuralSchema
  switch (def.type) {
    case 'default': {
      const inner = structuralSchema(def.innerType as z.ZodType)
      const value = def.defaultValue
      out = { ...inner, default: typeof value === 'function' ? (value as () => unknown)() : value }
      break
    }
    case 'optional':
      out = structuralSchema(def.innerType as z.ZodType)
      break
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>
      const properties: Record<string, StructuralSchema> = {}
      const required: string[] = []
      for (const [key, value] of Object.entries(shape)) {
        properties[key] = structuralSchema(value)
        const kind = defOf(value).type
        if (kind !== 'optional' && kind !== 'default') required.push(key)
      }
      out = { type: 'object', properties, ...(required.length > 0 ? { required } : {}) }
      break
    }
    case 'record':
      out = { type: 'object', additionalProperties: structuralSchema(def.valueType as z.ZodType) }
      break
    case 'array': {
      out = { type: 'array', items: structuralSchema(def.element as z.ZodType) }
      for (const check of checksOf(schema)) {
        if (check.check === 'min_length') out.minItems = check.minimum as number
        if (check.check === 'max_length') out.maxItems = check.maximum as number
      }
      break
    }
    case 'enum':
      out = { type: 'string', enum: Object.values(def.entries as Record<string, string>) }
      break
    case 'literal':
      out = { type: typeof (def.values as unknown[])[0] === 'number' ? 'number' : 'string', enum: def.values as Array<string | number> }
      break
    case 'string': {
      out = { type: 'string' }
      for (const check of checksOf(schema)) {
        if (check.check === 'string_format' && check.pattern instanceof RegExp) out.pattern = check.pattern.source
        if (check.check === 'min_length') out.minLength = check.minimum as number
        if (check.check === 'max_length') out.maxLength = check.maximum as number
      }
      break
    }
    case 'number': {
      const integer = checksOf(schema).some(c => c.check === 'number_format' && String(c.format).includes('int'))
      out = { type: integer ? 'integer' : 'number' }
      for (const check of checksOf(schema)) {
        if (check.check === 'greater_than') {
          out.minimum = check.value as number
          if (check.inclusive !== true) out.exclusiveMinimum = true
        }
        if (check.check === 'less_than') {
          out.maximum = check.value as number
          if (check.inclusive !== true) out.exclusiveMaximum = true
        }
      }
      break
    }
    case 'boolean':
      out = { type: 'boolean' }
      break
    default:
      throw new Error(`structuralSchema: zod type "${def.type}" has no structural form`)
  }
  const cel = rules.get(schema)
  if (cel != null) out['x-kubernetes-validations'] = [...cel]
  const keys = mapKeys.get(schema)
  if (keys != null) {
    out['x-kubernetes-list-type'] = 'map'
    out['x-kubernetes-list-map-keys'] = [...keys]
  }
  return out
}
