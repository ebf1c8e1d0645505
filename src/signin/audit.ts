/**
 * The sign-in audit: one row per step of every attempt that reached the
 * callback (callback, complete, choose), with its outcome. Identifiers only:
 * never a token, code, cookie or state.
 */
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env'
import { getDb } from '../db/client'
import { signInAttempts } from '../db/schema'
import { AppError } from '../errors'
import { log } from '../log'

export interface AttemptFacts {
  step: 'callback' | 'complete' | 'choose'
  hostname?: string
  orgId?: string | null
  phoneSystemId?: string
  tid?: string
  oid?: string
  /** Set by handlers that end well; errors decide the outcome otherwise. */
  result?: 'success' | 'pending'
  reason?: string
}

/** Adds facts as the handler learns them (host of the flow, identity, phone system, outcome). */
export function noteAttempt(
  c: { get(key: 'attempt'): AttemptFacts | undefined; set(key: 'attempt', value: AttemptFacts): void },
  facts: Partial<AttemptFacts>,
) {
  const current = c.get('attempt')
  if (current) c.set('attempt', { ...current, ...facts })
}

export function auditSignIn(step: AttemptFacts['step']): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('attempt', {
      step,
      hostname: c.var.site?.hostname,
      orgId: c.var.site?.kind === 'tenant' ? c.var.site.org.id : null,
    })
    await next()
    const facts = c.get('attempt')!
    const error = c.error
    const result = error ? 'failure' : (facts.result ?? 'success')
    const reason = error ? (error instanceof AppError ? error.code : 'internal') : (facts.reason ?? 'handoff')
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
      correlationId: c.var.correlationId,
    } as const
    log('info', 'sign-in attempt', {
      result,
      reason,
      step: row.step,
      hostname: row.hostname,
      orgId: row.orgId,
      phoneSystemId: row.phoneSystemId,
      tid: row.tid,
      correlationId: row.correlationId,
    })
    try {
      await getDb(c.env.DB).insert(signInAttempts).values(row)
    } catch (err) {
      // The answer stands; the lost row is loud in the log.
      log('error', 'sign-in audit write failed', { correlationId: row.correlationId, error: String(err) })
    }
  }
}
