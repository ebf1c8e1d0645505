/**
 * zod field types shared by every input, in zod's tree-shakable "mini" API
 * (the classic API would add ~90 KB gzip to every cold start). Every message
 * completes a sentence that starts with the field's name (`http/validate.ts`).
 */
import * as z from 'zod/mini'
import { GUID_PATTERN } from './ids'

/** A GUID in any case, stored lowercase. */
export const guid = z
  .string()
  .check(z.regex(GUID_PATTERN, 'must be a GUID such as 00000000-0000-0000-0000-000000000000'), z.toLowerCase())

/** Trimmed text that is neither empty nor longer than `max`. */
export const boundedText = (max: number) =>
  z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(max, `must be at most ${max} characters`))

/** A whole number typed into a query string, within bounds, with a default. */
export function wholeNumber(min: number, max: number, fallback: number) {
  return z._default(
    z.pipe(
      z.string().check(z.regex(/^\d{1,9}$/, `must be a whole number from ${min} to ${max}`)),
      z.transform((value: string, ctx) => {
        const n = Number(value)
        if (n < min || n > max) {
          ctx.issues.push({ code: 'custom', input: value, message: `must be a whole number from ${min} to ${max}` })
          return z.NEVER
        }
        return n
      }),
    ),
    fallback,
  )
}

/** An id as the API hands them out (`org_…`): bounded, so a path cannot carry a megabyte. */
export const idParam = z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(64, 'is not an id'))
