/**
 * Request bodies, read with a bound (ARCHITECTURE §8). The bound is counted on the
 * bytes as they arrive: `Content-Length` is only a hint that lets an honest
 * oversized request be refused before anything is read, and a chunked body
 * (no Content-Length at all) is cut off at the first byte over the limit.
 */
import type { Context } from 'hono'
import { AppError } from '../errors'
import { readTextWithin } from '../lib/stream'

const KiB = 1024
const MiB = 1024 * KiB

/** The bounds, one per kind of body the gateway reads. */
export const BODY_LIMITS = {
  /** A browser form (the chooser). */
  form: 16 * KiB,
  /** An admin API JSON body. */
  json: 1 * MiB,
  /** An SSO list replace: 50,000 users fit with room to spare. */
  ssoList: 16 * MiB,
} as const

export type BodyLimit = keyof typeof BODY_LIMITS

/**
 * How many JSON objects and arrays a body may hold, counted before it is
 * parsed: 16 MiB of `{},` is 5.6 million objects, about 375 MB once parsed,
 * far past an isolate's 128 MB (and every sign-in sharing the isolate would
 * fail with it). A list of 50,000 users is 50,002 containers; twice that
 * leaves the per-field validation to say what is wrong with a list just over.
 */
export const JSON_CONTAINER_LIMITS: Record<Exclude<BodyLimit, 'form'>, number> = {
  json: 10_000,
  ssoList: 100_010,
}

/** Objects and arrays in a JSON text (brackets inside strings do not count); stops counting past `limit`. */
export function countJsonContainers(text: string, limit: number): number {
  let count = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === 0x5c)
        i++ // backslash: the next character is escaped
      else if (code === 0x22) inString = false
    } else if (code === 0x22) inString = true
    else if ((code === 0x7b || code === 0x5b) && ++count > limit) return count
  }
  return count
}

/** Refuses (413) a JSON text with more containers than its kind allows, before it is parsed. */
export function requireJsonShapeBound(text: string, kind: Exclude<BodyLimit, 'form'>): void {
  const limit = JSON_CONTAINER_LIMITS[kind]
  if (countJsonContainers(text, limit) > limit) {
    throw new AppError(
      'payload_too_large',
      `The body holds more than ${limit.toLocaleString('en-US')} JSON objects and arrays`,
    )
  }
}

function tooLarge(limit: number): AppError {
  const size = limit >= MiB ? `${limit / MiB} MiB` : `${limit / KiB} KiB`
  return new AppError('payload_too_large', `The body is larger than ${size}`)
}

/**
 * The body as UTF-8 text, or a 413 `payload_too_large` once more than
 * `BODY_LIMITS[kind]` bytes have arrived (the rest is never read).
 */
export async function readBodyText(c: Context, kind: BodyLimit): Promise<string> {
  const limit = BODY_LIMITS[kind]
  const declared = Number(c.req.header('content-length'))
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  return readTextWithin(c.req.raw.body, limit, () => tooLarge(limit))
}
