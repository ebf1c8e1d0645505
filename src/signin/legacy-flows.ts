/**
 * The D1 table `sso_flows` held sign-in flows before each flow got a Durable
 * Object of its own (`flow-object.ts`). Nothing writes it any more, except a
 * Worker of the previous version while a deploy rolls out, so the scheduled
 * handler drains it: rows of flows that have expired (no transition can use
 * them: their state no longer opens, their codes and tokens have expired).
 * Once it stays empty, a later migration drops the table; dropping it now
 * would break the old version in the seconds between `npm run deploy`
 * applying migrations and the new Worker taking over.
 */
import { inArray, lt } from 'drizzle-orm'
import { getDb } from '../db/client'
import { ssoFlows } from '../db/schema'

/** Deletes up to `limit` legacy flow rows that expired before `now`; how many it deleted. */
export async function deleteLegacyFlows(d1: D1Database, now: number, limit: number): Promise<number> {
  const db = getDb(d1)
  const expired = db.select({ id: ssoFlows.id }).from(ssoFlows).where(lt(ssoFlows.expiresAt, now)).limit(limit)
  const result = await db.delete(ssoFlows).where(inArray(ssoFlows.id, expired)).run()
  return result.meta.changes ?? 0
}
