/**
 * One JSON line per request (ARCHITECTURE §11), the first middleware of the
 * app: its correlation id (also on the answer's `X-Correlation-Id`, on error
 * pages and in the sign-in audit), host, method, route pattern, status,
 * duration and outcome (`ok`, or the error code the request ended with).
 * Only the route's pattern is logged, never the path or query as sent: a
 * query carries codes, states and tokens; headers and cookies are never read.
 *
 * One exception (`logMemoryPage`): a login page the chain's shortcut answered
 * from memory with 200 gets no line of its own. Workers Logs records every
 * invocation by itself (its invocation log: method, URL, status, outcome, wall
 * and CPU time, Ray ID), and such a view has nothing to add to that but a
 * correlation id that no one is ever shown (only error pages show it); the line
 * was a large part of what the page cost (ARCHITECTURE §9). Every error, every 4xx and 5xx, every
 * `/sso/*` request and everything the chain answers keeps its line.
 */
import type { MiddlewareHandler } from 'hono'
import { routePath } from 'hono/route'
import { log } from '../log'
import type { AppEnv } from './context'

export const CORRELATION_HEADER = 'X-Correlation-Id'

/** What the request log records of one request; `logRequest` writes it. */
export interface RequestFacts {
  correlationId: string
  method: string
  /** The request URL's hostname, as sent. */
  hostname: string
  /** The route's pattern (never the path as sent); null when no route matched. */
  route: string | null
  status: number
  receivedAt: number
  /** The error code the request ended with, if one was set. */
  outcome: string | undefined
  orgId: string | null
  /** What a route adds to its request's line (a sign-in step's facts, under `signIn`). */
  fields?: Record<string, unknown>
}

/** The request's line: the one place its fields and level are decided (the chain's shortcut writes it too). */
export function logRequest(facts: RequestFacts): void {
  const { status } = facts
  log(status >= 500 ? 'error' : 'info', 'request', {
    correlationId: facts.correlationId,
    method: facts.method,
    // A visitor chooses the Host header: a DNS name is at most 253 characters, so nothing longer is kept.
    host: facts.hostname.slice(0, 253),
    route: facts.route,
    status,
    durationMs: Date.now() - facts.receivedAt,
    outcome: facts.outcome ?? (status >= 400 ? `http_${status}` : 'ok'),
    orgId: facts.orgId,
    ...facts.fields,
  })
}

/** The line of a page answered from memory (workers/chain.ts): none for a plain 200, the full line otherwise. */
export function logMemoryPage(facts: RequestFacts): void {
  if (facts.status !== 200) logRequest(facts)
}

export const requestLog: MiddlewareHandler<AppEnv> = async (c, next) => {
  const receivedAt = Date.now()
  const correlationId = crypto.randomUUID()
  c.set('receivedAt', receivedAt)
  c.set('correlationId', correlationId)
  await next()
  c.res.headers.set(CORRELATION_HEADER, correlationId)
  const site = c.get('site')
  logRequest({
    correlationId,
    method: c.req.method,
    hostname: new URL(c.req.url).hostname,
    route: routePath(c) || null,
    status: c.res.status,
    receivedAt,
    outcome: c.get('outcome'),
    orgId: site?.kind === 'tenant' ? site.org.id : null,
    fields: c.get('logFields'),
  })
}
