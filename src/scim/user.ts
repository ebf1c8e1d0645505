/**
 * A SCIM User (RFC 7643 §4.1) as the gateway keeps it: the attributes as
 * pushed, and what the SSO list takes from them. Pure.
 *
 * The SSO list entry of an active user: `upn` is the userName (Entra maps
 * userPrincipalName to it by default), `email` the work email (else the
 * primary, else the first), `displayName` the displayName (else the name's
 * parts). No `oid`: Entra's default mapping sends none the gateway could
 * trust, so the record matches on UPN or email within the phone system's
 * tenant, as a record without oid always does (ARCHITECTURE §5).
 */
import { invalidValue, ScimError } from './errors'

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'

/** Bounds on what one user may hold (Entra's own attributes are far shorter, and nest three deep at most). */
export const USER_LIMITS = {
  userName: 256,
  externalId: 256,
  displayName: 256,
  email: 320,
  resourceBytes: 64 * 1024,
  depth: 32,
}

/**
 * Whether `value` nests objects and arrays deeper than `max`, found without recursion: a value nested
 * thousands deep (a body may hold 10,000 brackets) would overflow the stack of any recursive walk after it
 * (JSON.stringify, structuredClone), a 500 instead of SCIM's 400.
 */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]]
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!
    if (typeof next !== 'object' || next === null) continue
    if (depth > max) return true
    for (const child of Array.isArray(next) ? next : Object.values(next)) pending.push([child, depth + 1])
  }
  return false
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** What the tables and the SSO list take from a user resource. */
export interface UserFacts {
  userName: string
  externalId: string | null
  active: boolean
  displayName: string | null
  email: string | null
}

/**
 * `active` as Entra sends it: a boolean, or (before the `aadOptscim062020` flag) the string "True"/"False".
 * Absent means active: a user Entra provisions is in scope until it says otherwise.
 */
export function parseActive(value: unknown): boolean {
  if (value === undefined || value === null) return true
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
  throw invalidValue('"active" must be true or false')
}

function optionalText(resource: Json, name: string, max: number): string | null {
  const value = resource[name]
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw invalidValue(`"${name}" must be a string`)
  if (value.length > max) throw invalidValue(`"${name}" must be at most ${max} characters`)
  return value === '' ? null : value
}

function keyOf(object: Json, name: string): string | undefined {
  return Object.keys(object).find((key) => key.toLowerCase() === name.toLowerCase())
}

function read(object: Json, name: string): unknown {
  const key = keyOf(object, name)
  return key === undefined ? undefined : object[key]
}

/** The email the list takes: the primary work one, else the primary, else a work one, else the first with a value. */
function emailOf(resource: Json): string | null {
  const emails = read(resource, 'emails')
  if (emails === undefined || emails === null) return null
  if (!Array.isArray(emails)) throw invalidValue('"emails" must be an array')
  const withValue = emails.filter((e): e is Json => isObject(e) && typeof read(e, 'value') === 'string')
  const isWork = (e: Json) => String(read(e, 'type') ?? '').toLowerCase() === 'work'
  const isPrimary = (e: Json) => read(e, 'primary') === true || String(read(e, 'primary')).toLowerCase() === 'true'
  const chosen =
    withValue.find((e) => isWork(e) && isPrimary(e)) ??
    withValue.find(isPrimary) ??
    withValue.find(isWork) ??
    withValue[0]
  const value = chosen ? String(read(chosen, 'value')).trim().toLowerCase() : ''
  if (value.length > USER_LIMITS.email) throw invalidValue(`An email must be at most ${USER_LIMITS.email} characters`)
  return value === '' ? null : value
}

function displayNameOf(resource: Json): string | null {
  const own = optionalText(resource, keyOf(resource, 'displayName') ?? 'displayName', USER_LIMITS.displayName)
  if (own) return own
  const name = read(resource, 'name')
  if (!isObject(name)) return null
  const formatted = read(name, 'formatted')
  if (typeof formatted === 'string' && formatted.trim()) return formatted.trim().slice(0, USER_LIMITS.displayName)
  const parts = [read(name, 'givenName'), read(name, 'familyName')].filter(
    (p): p is string => typeof p === 'string' && p.trim() !== '',
  )
  return parts.length > 0 ? parts.join(' ').slice(0, USER_LIMITS.displayName) : null
}

/**
 * A user resource as it will be stored (without `id` and `meta`, which are the gateway's, nor a password; with
 * `active` a boolean) and its facts; 400 for a resource the gateway cannot keep.
 */
export function normalizeUser(body: unknown): { resource: Json; facts: UserFacts } {
  if (!isObject(body)) throw new ScimError(400, 'The body must be a User object', 'invalidSyntax')
  if (nestsDeeperThan(body, USER_LIMITS.depth)) {
    throw invalidValue(`A user's attributes may nest at most ${USER_LIMITS.depth} levels deep`)
  }
  const resource: Json = {}
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase()
    // A password is write-only (RFC 7643 §4.1.1) and none is needed to sign in with Microsoft: never kept.
    if (lower === 'id' || lower === 'meta' || lower === 'password') continue
    resource[key] = value
  }
  const userNameKey = keyOf(resource, 'userName')
  const userName = userNameKey === undefined ? undefined : resource[userNameKey]
  if (typeof userName !== 'string' || userName.trim() === '') throw invalidValue('"userName" is required')
  if (userName.length > USER_LIMITS.userName) {
    throw invalidValue(`"userName" must be at most ${USER_LIMITS.userName} characters`)
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this refuses
  if (/[\u0000-\u001f\u007f]/.test(userName)) throw invalidValue('"userName" holds control characters')
  const activeKey = keyOf(resource, 'active') ?? 'active'
  const active = parseActive(resource[activeKey])
  resource[activeKey] = active
  const facts: UserFacts = {
    userName,
    externalId: optionalText(resource, keyOf(resource, 'externalId') ?? 'externalId', USER_LIMITS.externalId),
    active,
    displayName: displayNameOf(resource),
    email: emailOf(resource),
  }
  if (new TextEncoder().encode(JSON.stringify(resource)).length > USER_LIMITS.resourceBytes) {
    throw new ScimError(413, `A user may hold at most ${USER_LIMITS.resourceBytes / 1024} KiB of attributes`)
  }
  return { resource, facts }
}

/** The SSO list's fields of an active user (its UPN is the userName, lowercase). */
export function ssoFieldsOf(facts: UserFacts): { upn: string; email: string | null; displayName: string | null } {
  return { upn: facts.userName.toLowerCase(), email: facts.email, displayName: facts.displayName }
}
