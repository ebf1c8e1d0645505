/**
 * The SCIM filters the gateway answers (RFC 7644 §3.4.2.2): one equality on
 * one attribute, `userName eq "ann@contoso.com"`, which is what Entra's
 * provisioning service sends to find a resource before it creates one (its
 * matching attribute: `userName` or `externalId` for users, `displayName` or
 * `externalId` for groups). Attribute names and operators are
 * case-insensitive; anything else (another operator, `and`/`or`, a value
 * that is not a string) is refused with 400 `invalidFilter` rather than
 * answered wrongly. Pure.
 *
 * @see https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
 */
import { invalidFilter } from './errors'

/** Longer filters are refused: no real matching value comes close. */
export const MAX_FILTER_LENGTH = 1024

export interface EqualityFilter<A extends string> {
  attribute: A
  value: string
}

// attrPath SP "eq" SP compValue, with the value a JSON string (escapes allowed).
const EQUALITY = /^\s*([A-Za-z][\w:.$-]*)\s+([A-Za-z]+)\s+("(?:[^"\\]|\\.)*")\s*$/s
const CORE_URN = /^urn:ietf:params:scim:schemas:core:2\.0:(?:User|Group):/i

/**
 * The filter's attribute (spelled as in `attributes`, whatever case it came in) and value.
 * `attributes` are the attributes this resource type may be filtered on.
 */
export function parseEqualityFilter<A extends string>(filter: string, attributes: readonly A[]): EqualityFilter<A> {
  if (filter.length > MAX_FILTER_LENGTH)
    throw invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters`)
  const match = EQUALITY.exec(filter)
  if (!match) {
    throw invalidFilter('Only a filter of the form `attribute eq "value"` is supported')
  }
  const [, path = '', operator = '', literal = ''] = match
  if (operator.toLowerCase() !== 'eq') {
    throw invalidFilter(`The operator "${operator.slice(0, 10)}" is not supported: only "eq"`)
  }
  const name = path.replace(CORE_URN, '').toLowerCase()
  const attribute = attributes.find((a) => a.toLowerCase() === name)
  if (!attribute) {
    throw invalidFilter(`Filtering on "${path.slice(0, 100)}" is not supported: only ${attributes.join(', ')}`)
  }
  let value: unknown
  try {
    value = JSON.parse(literal)
  } catch {
    throw invalidFilter('The filter value is not a valid string')
  }
  return { attribute, value: value as string }
}
