/**
 * The request's read session (ARCHITECTURE §9): one D1 Sessions API session
 * per request, opened on first use, for the sign-in's hot-path reads (host,
 * Entra client, reach, SSO list). `first-unconstrained`: the first read may
 * be served by any replica, and the request's later reads by replicas at
 * least as fresh as that one, so a sign-in far from the primary reads
 * nearby. Writes never go through it: they take `c.env.DB`, the primary.
 *
 * @see https://developers.cloudflare.com/d1/best-practices/read-replication/
 */
import type { Context } from 'hono'
import type { D1Reader } from '../db/client'
import type { AppEnv } from './context'

export function readDb(c: Context<AppEnv>): D1Reader {
  let session = c.get('readSession')
  if (!session) {
    session = c.env.DB.withSession('first-unconstrained')
    c.set('readSession', session)
  }
  return session
}
