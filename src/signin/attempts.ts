/**
 * Records every sign-in step that reached the callback in the sign-in audit
 * (`audit/sign-in-attempts.ts`): the handler adds facts as it learns them,
 * the outcome comes from how the request ended. Every step is logged, on its
 * request's log line (`signIn`); only steps that presented a genuine state,
 * code or token are stored, through the sign-in audit queue
 * (`audit/queue.ts`) after the answer has left.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { sendSignInAttempt } from '../audit/queue'
import type { AttemptFacts } from '../audit/sign-in-attempts'
import { AppError, errorCodeOf } from '../errors'
import type { AppEnv } from '../http/context'
import { metrics } from '../observe/metrics'

/** Adds facts as the handler learns them (host of the flow, identity, phone system, outcome). */
export function noteAttempt(c: Context<AppEnv>, facts: Partial<AttemptFacts>): void {
  const current = c.get('attempt')
  if (current) c.set('attempt', { ...current, ...facts })
}

/**
 * What Microsoft answered to a failed step, for the sign-in log: an `entra_*`
 * error's detail is the AADSTS number and OAuth error name checked against a
 * strict pattern (`oidc/entra-errors.ts`) or a fixed sentence, never Entra's
 * free text, so it is safe to keep and to show. Other errors keep none.
 */
function entraDetail(error: unknown): string | null {
  if (!(error instanceof AppError) || !error.code.startsWith('entra_') || !error.detail) return null
  return error.detail.slice(0, 200)
}

export function auditSignIn(step: AttemptFacts['step']): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const site = c.var.site
    c.set('attempt', { step, hostname: site?.hostname, orgId: site?.kind === 'tenant' ? site.org.id : null })
    await next()
    const facts = c.get('attempt')
    const error = c.error
    const result = error ? 'failure' : (facts.result ?? 'success')
    const reason = error ? errorCodeOf(error) : (facts.reason ?? 'handoff')
    const row = {
      at: Date.now(),
      result,
      reason,
      step: facts.step,
      hostname: facts.hostname ?? null,
      orgId: facts.orgId ?? null,
      phoneSystemId: facts.phoneSystemId ?? null,
      tid: facts.tid ?? null,
      oid: facts.oid ?? null,
      account: facts.account ?? null,
      detail: entraDetail(error),
      correlationId: c.var.correlationId,
    } as const
    // On the request's own log line (http/request-log.ts), not a line of its own: one line per request.
    c.set('logFields', {
      signIn: {
        stored: facts.authentic === true,
        result,
        reason,
        step: row.step,
        hostname: row.hostname,
        orgId: row.orgId,
        phoneSystemId: row.phoneSystemId,
        // No tid, oid or account: personal data stays in the D1 row (stored steps), which the correlation id finds.
      },
    })
    const now = Date.now()
    metrics.signIn(c.var.config.metrics, {
      result,
      reason,
      step: row.step,
      orgId: row.orgId,
      callbackMode: facts.callbackMode ?? 'unknown',
      hostname: row.hostname,
      requestMs: now - c.var.receivedAt,
      sinceStartMs: facts.startedAt === undefined ? 0 : now - facts.startedAt,
    })
    if (!facts.authentic) return
    // Off the request path: the answer leaves now, the row follows through the queue (never throws).
    background(c, sendSignInAttempt(c.env, { ...row, eventId: crypto.randomUUID() }))
  }
}

/** Keeps `work` alive after the answer; a request without an execution context (`app.request` in tests) just lets it run. */
function background(c: Context<AppEnv>, work: Promise<void>): void {
  try {
    c.executionCtx.waitUntil(work)
  } catch {
    // Hono throws when there is no execution context; the work is already running.
  }
}
