/**
 * Input validation for every target (JSON body, query string, path
 * parameters) with zod: one sentence naming the first bad field, as a 400
 * that changes nothing.
 */
import type { Context } from 'hono'
import type * as z from 'zod/mini'
import { AppError } from '../errors'
import { type BodyLimit, readBodyText, requireJsonShapeBound } from './body'

/** `users[3].oid` from a zod issue path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out ? `.${String(part)}` : String(part)
  }
  return out
}

/** Turns the first zod issue into one sentence that names the field. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): { field: string; message: string } {
  const field = fieldPath(issue.path)
  const subject = field ? `"${field}"` : 'the body'
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? ''
      const where = field ? `${field}.${key}` : key
      return { field: where, message: `"${where}" is not a known field` }
    }
    case 'invalid_type':
      if (valueAt(input, issue.path) === undefined) return { field, message: `${subject} is required` }
      return { field, message: `${subject} must be ${article(issue.expected)}` }
    case 'invalid_value':
      // Enums carry their own message ("must be "central" or "direct"").
      return {
        field,
        message: `${subject} ${issue.message === 'Invalid input' ? `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message}`,
      }
    default:
      return { field, message: `${subject} ${issue.message}` }
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number'
  if (expected === 'array' || expected === 'object') return `an ${expected}`
  return `a ${expected}`
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value: unknown = input
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<PropertyKey, unknown>)[part]
  }
  return value
}

/** Validates `value` against `schema`, throwing a 400 `invalid_request` naming the first bad field. */
export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  const { field, message } = describeIssue(issue, value)
  throw new AppError('invalid_request', message, { field })
}

/**
 * Reads a JSON body (bounded in size, `application/json` only) and validates it.
 * Nothing is written before this returns, so a bad body changes nothing.
 */
export async function readJsonBody<S extends z.ZodMiniType>(
  c: Context,
  schema: S,
  limit: BodyLimit = 'json',
): Promise<z.output<S>> {
  const type = c.req.header('content-type') ?? ''
  // A POST with no body at all is an empty object (`POST …/api-keys` with nothing to say).
  if (
    type === '' &&
    (c.req.header('content-length') ?? '0') === '0' &&
    c.req.header('transfer-encoding') === undefined
  ) {
    return parseWith(schema, {})
  }
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new AppError('unsupported_media_type', 'The body must be JSON, sent with "Content-Type: application/json"')
  }
  const text = await readBodyText(c, limit)
  requireJsonShapeBound(text, limit === 'form' ? 'json' : limit)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new AppError('invalid_json', 'The body is not valid JSON')
  }
  return parseWith(schema, value)
}

/** The query string, validated (a repeated parameter counts once: its first value, as `c.req.query(name)` reads it). */
export function parseQuery<S extends z.ZodMiniType>(c: Context, schema: S): z.output<S> {
  const query: Record<string, string> = {}
  for (const [name, value] of new URL(c.req.url).searchParams) query[name] ??= value
  return parseWith(schema, query)
}

/** The route's path parameters, validated. */
export function parseParams<S extends z.ZodMiniType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.param())
}
