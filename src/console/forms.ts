/**
 * Console forms on the domain's own schemas: a form's fields become the same
 * object the admin API's JSON body would be, validated by the same zod
 * schema, so a rule cannot differ between the two. A domain refusal becomes
 * a problem the page shows next to its field, with the error's own remedy.
 */
import type * as z from 'zod/mini'
import { AppError, errorSpec } from '../errors'
import { parseWith } from '../http/validate'
import type { FormProblem } from './ui'

/**
 * The named fields of a form as an object: empty fields are left out (so an
 * optional field left blank is absent, as in JSON), `nested` fields
 * (`branding.displayName`) build an object.
 */
export function formObject(form: URLSearchParams, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const name of fields) {
    const value = form.get(name)?.trim()
    if (!value) continue
    const [head, tail] = name.split('.', 2) as [string, string | undefined]
    if (tail === undefined) out[head] = value
    else out[head] = { ...((out[head] as Record<string, unknown>) ?? {}), [tail]: value }
  }
  return out
}

/** The form's fields validated by `schema` (a 400 `invalid_request` naming the field, as the API answers). */
export function parseForm<S extends z.ZodMiniType>(schema: S, form: URLSearchParams, fields: readonly string[]) {
  return parseWith(schema, formObject(form, fields))
}

/** Refusals the page answers itself (the form again, with the problem); anything else is an error page. */
const PAGE_ANSWERED = new Set([400, 409, 413, 422, 429, 501, 502, 503, 504])

export type Attempt<T> =
  | { ok: true; value: T }
  | { ok: false; problem: FormProblem; status: 400 | 409 | 422 | 502 | 503 | 504 }

/**
 * Runs a change. A refusal the person at the form can act on (a bad field, a
 * conflict, an upstream failure) comes back as a problem, with the error's
 * remedy; a 404 or 403 is rethrown (the error page: nothing to retry).
 */
export async function attempt<T>(work: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    if (!(error instanceof AppError) || !PAGE_ANSWERED.has(error.status)) throw error
    const action = errorSpec(error.code).page.action
    const message = action && !error.field ? `${error.message}. ${action}` : error.message
    return {
      ok: false,
      problem: { message: message.replace(/\.\. /, '. '), ...(error.field ? { field: error.field } : {}) },
      status: (error.status >= 500 ? error.status : error.status === 409 ? 409 : error.status === 422 ? 422 : 400) as
        | 400
        | 409
        | 422
        | 502
        | 503
        | 504,
    }
  }
}
