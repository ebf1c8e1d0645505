/**
 * A SCIM Group (RFC 7643 §4.2) as Entra's provisioning service pushes it:
 * a displayName, an externalId (the Entra group's object id by default) and
 * members by the ids the gateway gave its users. Groups do not change the
 * SSO list: Entra provisions every member in scope as a user of its own, and
 * a group assignment in Entra grants its direct members only. Pure.
 */
import { invalidValue, ScimError } from './errors'
import { type PatchOperation, parsePath } from './patch'

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const GROUP_LIMITS = { displayName: 256, externalId: 256, members: 1000 }

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

function read(object: Json, name: string): unknown {
  const key = Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : object[key]
}

function text(value: unknown, name: string, max: number, required: boolean): string | null {
  if (value === undefined || value === null || value === '') {
    if (required) throw invalidValue(`"${name}" is required`)
    return null
  }
  if (typeof value !== 'string') throw invalidValue(`"${name}" must be a string`)
  if (value.length > max) throw invalidValue(`"${name}" must be at most ${max} characters`)
  return value
}

/** Member ids of a `members` value (`[{value: "usr_…"}]`). */
export function memberIds(value: unknown): string[] {
  if (value === undefined || value === null) return []
  const list = Array.isArray(value) ? value : [value]
  if (list.length > GROUP_LIMITS.members)
    throw new ScimError(400, `At most ${GROUP_LIMITS.members} members per request`, 'tooMany')
  return list.map((member) => {
    const id = isObject(member) ? read(member, 'value') : undefined
    if (typeof id !== 'string' || id.length > 64) throw invalidValue('A member is {"value": "<user id>"}')
    return id
  })
}

export interface GroupInput {
  displayName: string
  externalId: string | null
  members: string[]
}

export function normalizeGroup(body: unknown): GroupInput {
  if (!isObject(body)) throw new ScimError(400, 'The body must be a Group object', 'invalidSyntax')
  return {
    displayName: text(read(body, 'displayName'), 'displayName', GROUP_LIMITS.displayName, true)!,
    externalId: text(read(body, 'externalId'), 'externalId', GROUP_LIMITS.externalId, false),
    members: memberIds(read(body, 'members')),
  }
}

/** One step of a group PATCH, in the order the operations gave them. */
export type GroupChange =
  | { kind: 'displayName'; value: string }
  | { kind: 'externalId'; value: string | null }
  | { kind: 'addMembers'; ids: string[] }
  | { kind: 'removeMembers'; ids: string[] }
  | { kind: 'clearMembers' }

function changesFor(op: PatchOperation['op'], path: string, value: unknown): GroupChange[] {
  const parsed = parsePath(path)
  const attribute = parsed.attribute.toLowerCase()
  if (parsed.container !== null) return [] // no extension attributes are kept for groups
  if (attribute === 'id' || attribute === 'meta') {
    throw new ScimError(400, `"${parsed.attribute}" cannot be changed`, 'mutability')
  }
  if (attribute === 'displayname') {
    if (op === 'remove') throw invalidValue('"displayName" is required')
    return [{ kind: 'displayName', value: text(value, 'displayName', GROUP_LIMITS.displayName, true)! }]
  }
  if (attribute === 'externalid') {
    return [
      { kind: 'externalId', value: op === 'remove' ? null : text(value, 'externalId', GROUP_LIMITS.externalId, false) },
    ]
  }
  if (attribute === 'members') {
    // `members[value eq "usr_…"]`: the member the filter names (Entra's remove since aadOptscim062020).
    if (parsed.filter) {
      if (parsed.filter.attribute.toLowerCase() !== 'value' || op !== 'remove') {
        throw new ScimError(400, 'Only remove takes a members filter, on "value"', 'invalidPath')
      }
      return [{ kind: 'removeMembers', ids: [parsed.filter.value] }]
    }
    const ids = memberIds(value)
    if (op === 'add') return [{ kind: 'addMembers', ids }]
    if (op === 'replace') return [{ kind: 'clearMembers' }, { kind: 'addMembers', ids }]
    return value === undefined || value === null ? [{ kind: 'clearMembers' }] : [{ kind: 'removeMembers', ids }]
  }
  return [] // attributes a group does not keep are ignored, as RFC 7644 lets a provider do
}

/** What a group PATCH changes, in order; 400 for an operation the gateway cannot apply. */
export function groupChanges(operations: readonly PatchOperation[]): GroupChange[] {
  return operations.flatMap(({ op, path, value }) => {
    if (path !== undefined) return changesFor(op, path, value)
    if (op === 'remove') throw new ScimError(400, 'A remove needs a "path"', 'noTarget')
    if (!isObject(value)) throw invalidValue('An operation without "path" needs an object "value"')
    return Object.entries(value).flatMap(([name, v]) => changesFor(op, name, v))
  })
}
