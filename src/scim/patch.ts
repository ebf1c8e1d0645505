/**
 * SCIM PATCH (RFC 7644 §3.5.2) as Entra's provisioning service sends it,
 * applied to a stored resource. Pure.
 *
 * Entra's quirks, both accepted: the operation name in any case (`Replace`,
 * `replace`; before the `aadOptscim062020` flag it capitalizes), and
 * operations without a `path` whose value is an object of attribute paths
 * (`{"op":"Replace","value":{"active":false}}`). Paths may carry a value
 * filter on a multi-valued attribute (`emails[type eq "work"].value`), a
 * sub-attribute (`name.givenName`) or a schema URN prefix (the enterprise
 * extension's `urn:…:enterprise:2.0:User:employeeNumber`). `id` and `meta`
 * are the gateway's: changing them is refused with 400 `mutability`.
 *
 * @see https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
 * @see https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
 */
import { invalidPath, invalidValue, ScimError } from './errors'

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

/** More operations in one request are refused (Entra sends a handful). */
export const MAX_PATCH_OPERATIONS = 100

/**
 * More attributes changed in one request (an operation with a path is one, one without is one per key of its
 * value) are refused: each finds its attribute among the resource's (names are case-insensitive), so 120,000
 * keys in one path-less value took many minutes of CPU, holding the isolate.
 */
export const MAX_PATCH_PATHS = 256

/** The most element attributes one filtered operation (`emails[type eq "work"]` with an object value) may write. */
export const MAX_FILTERED_WRITES = 10_000

export type PatchOpName = 'add' | 'replace' | 'remove'

export interface PatchOperation {
  op: PatchOpName
  path: string | undefined
  value: unknown
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The operations of a PatchOp body, their names lowercased; 400 for anything else. */
export function parsePatchBody(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw new ScimError(400, 'The body must be a PatchOp object', 'invalidSyntax')
  const operations = body.Operations ?? body.operations
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ScimError(400, '"Operations" must be a non-empty array', 'invalidSyntax')
  }
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw new ScimError(400, `At most ${MAX_PATCH_OPERATIONS} operations per request`, 'tooMany')
  }
  let paths = 0
  return operations.map((operation, i) => {
    if (!isObject(operation)) throw new ScimError(400, `Operation ${i} is not an object`, 'invalidSyntax')
    const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : ''
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw new ScimError(400, `Operation ${i}: "op" must be add, replace or remove`, 'invalidSyntax')
    }
    const path = operation.path
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.length > 512)) {
      throw invalidPath(`Operation ${i}: "path" must be a string of at most 512 characters`)
    }
    const pathLess = typeof path !== 'string' || path.trim() === ''
    paths += pathLess && isObject(operation.value) ? Object.keys(operation.value).length : 1
    if (paths > MAX_PATCH_PATHS) {
      throw new ScimError(400, `At most ${MAX_PATCH_PATHS} attributes may change in one request`, 'tooMany')
    }
    return {
      op,
      path: pathLess ? undefined : (path as string).trim(),
      value: operation.value,
    }
  })
}

/** A parsed attribute path: `container` is a schema URN's object (the enterprise extension) or null for the core. */
export interface AttributePath {
  container: string | null
  attribute: string
  filter: { attribute: string; value: string } | null
  sub: string | null
}

const CORE_URN = /^urn:ietf:params:scim:schemas:core:2\.0:(?:User|Group):/i
const PATH = /^([A-Za-z][\w$-]*)(?:\[\s*([A-Za-z][\w$-]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*\])?(?:\.([A-Za-z][\w$-]*))?$/i

export function parsePath(raw: string): AttributePath {
  let rest = raw.replace(CORE_URN, '')
  let container: string | null = null
  if (/^urn:/i.test(rest)) {
    // An extension's attribute: the URN is everything up to the last colon before the attribute.
    const match = /^(urn:[^[\]]+):([^:[\]]+(?:\[[^\]]*\])?(?:\.[^:]+)?)$/i.exec(rest)
    if (!match) throw invalidPath(`The path "${raw.slice(0, 100)}" is not supported`)
    container = match[1]!
    rest = match[2]!
  }
  const match = PATH.exec(rest)
  if (!match) throw invalidPath(`The path "${raw.slice(0, 100)}" is not supported`)
  const [, attribute = '', filterAttribute, filterValue, sub] = match
  let filter: AttributePath['filter'] = null
  if (filterAttribute && filterValue) {
    const value = JSON.parse(filterValue) as unknown
    if (typeof value !== 'string') throw invalidPath('A path filter compares with a string')
    filter = { attribute: filterAttribute, value }
  }
  return { container, attribute, filter, sub: sub ?? null }
}

/** The key of `object` that names `attribute` (attribute names are case-insensitive), or `attribute` itself. */
function keyOf(object: Json, attribute: string): string {
  const lower = attribute.toLowerCase()
  return Object.keys(object).find((key) => key.toLowerCase() === lower) ?? attribute
}

const READ_ONLY = new Set(['id', 'meta'])

function elementMatches(element: unknown, filter: NonNullable<AttributePath['filter']>): element is Json {
  if (!isObject(element)) return false
  const actual = element[keyOf(element, filter.attribute)]
  return typeof actual === 'string' && actual.toLowerCase() === filter.value.toLowerCase()
}

function isPrimary(element: unknown): boolean {
  if (!isObject(element)) return false
  const primary = element[keyOf(element, 'primary')]
  return primary === true || (typeof primary === 'string' && primary.toLowerCase() === 'true')
}

/**
 * What a value of a multi-valued attribute is compared by: values are equal when their `value` is (or, without
 * one, their JSON). A `value` that is itself an object or array equals nothing (it was compared by reference).
 * A key, not a pairwise comparison, so that an add or remove of many values against many stays linear (pairwise,
 * 150,000 values sent against 10,000 kept took minutes of CPU, holding the isolate).
 */
function valueKey(element: unknown): string | null {
  if (isObject(element) && 'value' in element) {
    const inner = element.value
    return typeof inner === 'object' && inner !== null ? null : `v:${typeof inner}:${String(inner)}`
  }
  return `j:${JSON.stringify(element)}`
}

function keysOf(values: readonly unknown[]): Set<string> {
  const keys = new Set<string>()
  for (const v of values) {
    const key = valueKey(v)
    if (key !== null) keys.add(key)
  }
  return keys
}

const isIn = (keys: Set<string>, element: unknown) => {
  const key = valueKey(element)
  return key !== null && keys.has(key)
}

function applyAt(target: Json, op: PatchOpName, path: AttributePath, value: unknown): void {
  if (path.container === null && READ_ONLY.has(path.attribute.toLowerCase())) {
    throw new ScimError(400, `"${path.attribute}" cannot be changed`, 'mutability')
  }
  let object = target
  if (path.container !== null) {
    const containerKey = keyOf(target, path.container)
    if (!isObject(target[containerKey])) {
      if (op === 'remove') return
      target[containerKey] = {}
    }
    object = target[containerKey] as Json
  }
  const key = keyOf(object, path.attribute)
  const current = object[key]

  if (path.filter) {
    const elements = Array.isArray(current) ? current : []
    const matching = elements.filter((element) => elementMatches(element, path.filter!))
    if (op === 'remove') {
      if (path.sub) for (const element of matching) delete element[keyOf(element, path.sub)]
      else {
        const removed = new Set<unknown>(matching)
        object[key] = elements.filter((element) => !removed.has(element))
      }
      return
    }
    if (matching.length === 0) {
      // Entra adds `emails[type eq "work"].value` to a user without a work email: the element is created.
      const created: Json = { [path.filter.attribute]: path.filter.value }
      matching.push(created)
      object[key] = [...elements, created]
    }
    // Every matching element takes every key of the value: bounded, as the attributes a request may change are.
    if (!path.sub && isObject(value) && matching.length * Object.keys(value).length > MAX_FILTERED_WRITES) {
      throw new ScimError(400, `At most ${MAX_FILTERED_WRITES} values may change in one operation`, 'tooMany')
    }
    for (const element of matching) {
      if (path.sub) element[keyOf(element, path.sub)] = value
      else if (isObject(value)) Object.assign(element, value)
      else throw invalidValue(`"${path.attribute}" elements are objects`)
    }
    return
  }

  if (path.sub) {
    if (op === 'remove') {
      if (isObject(current)) delete current[keyOf(current, path.sub)]
      return
    }
    if (!isObject(current)) object[key] = {}
    const container = object[key] as Json
    container[keyOf(container, path.sub)] = value
    return
  }

  if (op === 'remove') {
    if (Array.isArray(current) && Array.isArray(value)) {
      const removed = keysOf(value)
      object[key] = current.filter((element) => !isIn(removed, element))
    } else {
      delete object[key]
    }
    return
  }
  if (op === 'add' && Array.isArray(current) && Array.isArray(value)) {
    const present = keysOf(current)
    const added = value.filter((v) => !isIn(present, v))
    // At most one value is primary (RFC 7643 §2.4): a primary one added takes it from the others.
    const kept = added.some(isPrimary)
      ? current.map((e) => (isPrimary(e) ? { ...(e as Json), primary: false } : e))
      : current
    object[key] = [...kept, ...added]
    return
  }
  if (op === 'add' && isObject(current) && isObject(value)) {
    Object.assign(current, value)
    return
  }
  object[key] = value
}

/**
 * `resource` after `operations`, in order (a copy: the input is left alone). A path-less add or
 * replace applies each key of its object value as a path.
 */
export function applyPatch(resource: Json, operations: readonly PatchOperation[]): Json {
  const result = structuredClone(resource)
  for (const { op, path, value } of operations) {
    if (path === undefined) {
      if (op === 'remove') throw new ScimError(400, 'A remove needs a "path"', 'noTarget')
      if (!isObject(value)) throw invalidValue('An operation without "path" needs an object "value"')
      for (const [name, v] of Object.entries(value)) {
        // An extension's whole object (`"urn:…:enterprise:2.0:User": {...}`) merges into the stored one.
        if (/^urn:/i.test(name) && !CORE_URN.test(`${name}:`) && isObject(v)) {
          const key = keyOf(result, name)
          result[key] = { ...(isObject(result[key]) ? result[key] : {}), ...v }
          continue
        }
        applyAt(result, op, parsePath(name), v)
      }
      continue
    }
    applyAt(result, op, parsePath(path), value)
  }
  return result
}
