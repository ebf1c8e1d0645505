/**
 * The console session (ARCHITECTURE §7): a `__Host-` cookie holding a random
 * token, and a D1 record under the token's SHA-256 (so a D1 read leaks no
 * usable cookie). At most 8 hours from sign-in, 30 minutes idle, revocable
 * (sign-out revokes the record, not only the cookie). Each session has its
 * own CSRF token, which every console form carries.
 */
import { and, eq, gt, isNull } from 'drizzle-orm'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { getDb } from '../db/client'
import { type ConsoleSessionRow, consoleSessions } from '../db/schema'
import type { AppEnv } from '../http/context'
import { randomToken, secretsEqual, sha256 } from '../lib/crypto'
import type { ConsoleSession, StaffUser } from '../staff/membership'

export const SESSION_MAX_MS = 8 * 60 * 60 * 1000
export const SESSION_IDLE_MS = 30 * 60 * 1000
/** How often the idle clock is written: at most once a minute per session, not on every request. */
const TOUCH_EVERY_MS = 60 * 1000

/**
 * With hono's `prefix: 'host'` the cookie is `__Host-console`: Secure, Path=/, no Domain. SameSite=Lax, not Strict:
 * the cookie is set at the end of Entra's cross-site redirect chain, and a Strict cookie would not come along on the
 * redirect to /admin that follows.
 */
const SESSION_COOKIE = 'console'
const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' } as const

function toSession(row: ConsoleSessionRow): ConsoleSession {
  return {
    id: row.id,
    user: { tid: row.tid, oid: row.oid, upn: row.upn, name: row.name },
    csrfToken: row.csrfToken,
    expiresAt: row.expiresAt,
  }
}

/** A new session for `user`, its cookie set on the answer. */
export async function startSession(c: Context<AppEnv>, user: StaffUser, now: number): Promise<ConsoleSession> {
  const token = randomToken(32)
  const row: ConsoleSessionRow = {
    id: await sha256(token),
    tid: user.tid,
    oid: user.oid,
    upn: user.upn,
    name: user.name,
    csrfToken: randomToken(32),
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + SESSION_MAX_MS,
    revokedAt: null,
  }
  await getDb(c.env.DB).insert(consoleSessions).values(row)
  setCookie(c, SESSION_COOKIE, token, { prefix: 'host', ...COOKIE_OPTIONS, maxAge: SESSION_MAX_MS / 1000 })
  return toSession(row)
}

/** Whether the request carries a session cookie at all (live or not). */
export function hasSessionCookie(c: Context<AppEnv>): boolean {
  return getCookie(c, SESSION_COOKIE, 'host') !== undefined
}

/** The session the request's cookie names, if it is live; its idle clock moves on. Null for anything else. */
export async function currentSession(c: Context<AppEnv>, now: number): Promise<ConsoleSession | null> {
  const token = getCookie(c, SESSION_COOKIE, 'host')
  if (!token || token.length > 128) return null
  const db = getDb(c.env.DB)
  const row = await db
    .select()
    .from(consoleSessions)
    .where(
      and(
        eq(consoleSessions.id, await sha256(token)),
        isNull(consoleSessions.revokedAt),
        gt(consoleSessions.expiresAt, now),
        gt(consoleSessions.lastSeenAt, now - SESSION_IDLE_MS),
      ),
    )
    .get()
  if (!row) return null
  if (now - row.lastSeenAt >= TOUCH_EVERY_MS) {
    await db.update(consoleSessions).set({ lastSeenAt: now }).where(eq(consoleSessions.id, row.id))
  }
  return toSession(row)
}

/** Whether a form's token is this session's CSRF token (compared in constant time). */
export function csrfTokenMatches(session: ConsoleSession, presented: string | null): Promise<boolean> {
  return presented ? secretsEqual(presented, session.csrfToken) : Promise.resolve(false)
}

/** Sign-out: the record is revoked (a copied cookie is worthless from now on) and the cookie cleared. */
export async function endSession(c: Context<AppEnv>, session: ConsoleSession, now: number): Promise<void> {
  await getDb(c.env.DB).update(consoleSessions).set({ revokedAt: now }).where(eq(consoleSessions.id, session.id))
  clearSessionCookie(c)
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { prefix: 'host', ...COOKIE_OPTIONS })
}

/** Deletes up to `limit` sessions that ended (expired or revoked) more than a day ago; how many. */
export async function deleteEndedSessions(d1: D1Database, now: number, limit: number): Promise<number> {
  const dayAgo = now - 24 * 60 * 60 * 1000
  const result = await d1
    .prepare(
      // One arm per way a session ends, each a range on its own index (as one OR of three ranges, SQLite reads the
      // whole table); the arms exclude each other, so UNION ALL counts no session twice against the limit.
      `DELETE FROM console_sessions WHERE id IN (
        SELECT id FROM console_sessions WHERE expires_at < ?1
        UNION ALL SELECT id FROM console_sessions WHERE revoked_at < ?1 AND expires_at >= ?1
        UNION ALL SELECT id FROM console_sessions
          WHERE last_seen_at < ?2 AND expires_at >= ?1 AND (revoked_at IS NULL OR revoked_at >= ?1)
        LIMIT ?3)`,
    )
    .bind(dayAgo, dayAgo - SESSION_IDLE_MS, limit)
    .run()
  return result.meta.changes ?? 0
}
