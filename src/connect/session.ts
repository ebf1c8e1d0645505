/**
 * A connect in progress (ARCHITECTURE §6), in two legs, each behind its own
 * single-use state and bound to the browser that opened the link by a
 * `__Host-sso_connect` cookie: the administrator signs in (the sign-in flow
 * of ARCHITECTURE §3, on the phone system's tenant), then grants admin consent.
 * Both come back to `/connect/callback`; the state says which leg it is.
 */

import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import * as oauth from 'oauth4webapi'
import { getDb } from '../db/client'
import { connectSessions } from '../db/schema'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { randomToken, seal, sha256, unseal } from '../lib/crypto'
import { newId } from '../lib/ids'
import { type Identity, signedIn } from '../oidc/identity'
import { FLOW_TTL_SECONDS } from '../signin/flow-store'

const CONNECT_COOKIE = 'sso_connect'
const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' } as const
/**
 * Sign-in and consent together, end to end, within a sign-in flow's lifetime: the connect cookie is a flow
 * cookie (at most 10 minutes), and an administrator slower than that opens the link again.
 */
const SESSION_TTL_SECONDS = FLOW_TTL_SECONDS

type ConnectContext = Context<AppEnv>

interface SignInSecrets {
  verifier: string
  nonce: string
  /** The link's token, so a refusal can offer the link again to this browser. */
  token: string
}

interface ConsentSecrets {
  admin: Identity
  /** The administrator role the ID token showed, for the record of who proved the tenant. */
  role: string
  token: string
}

export type TakenLeg =
  | { leg: 'signin'; sessionId: string; linkId: string; secrets: SignInSecrets }
  | { leg: 'consent'; sessionId: string; linkId: string; secrets: ConsentSecrets }

const secretsAudience = (sessionId: string) => `connect-secrets:${sessionId}`
const cookieAudience = (hostname: string) => `connect-cookie:${hostname}`

function refused(why: string): AppError {
  return new AppError('flow_invalid', `Connect refused: ${why}`)
}

/** Starts the administrator's sign-in for `linkId`; what the authorization request carries. */
export async function startConnect(
  c: ConnectContext,
  linkId: string,
  token: string,
): Promise<{ state: string; nonce: string; codeChallenge: string }> {
  const { config } = c.var
  const now = Date.now()
  const id = newId('cs')
  const state = randomToken(32)
  const secrets: SignInSecrets = { verifier: oauth.generateRandomCodeVerifier(), nonce: randomToken(32), token }
  await getDb(c.env.DB)
    .insert(connectSessions)
    .values({
      id,
      linkId,
      stateHash: await sha256(state),
      phase: 'signin',
      secrets: await seal({ ...secrets }, config.flowKey, secretsAudience(id), SESSION_TTL_SECONDS),
      createdAt: now,
      expiresAt: now + SESSION_TTL_SECONDS * 1000,
    })
  const cookie = await seal({ sid: id }, config.flowKey, cookieAudience(c.var.site.hostname), SESSION_TTL_SECONDS)
  setCookie(c, CONNECT_COOKIE, cookie, { prefix: 'host', ...COOKIE_OPTIONS, maxAge: SESSION_TTL_SECONDS })
  return { state, nonce: secrets.nonce, codeChallenge: await oauth.calculatePKCECodeChallenge(secrets.verifier) }
}

async function cookieSessionId(c: ConnectContext): Promise<string | null> {
  const value = getCookie(c, CONNECT_COOKIE, 'host')
  if (!value || value.length > 4096) return null
  const payload = await unseal<{ sid: string }>(value, c.var.config.flowKey, cookieAudience(c.var.site.hostname))
  return payload && typeof payload.sid === 'string' ? payload.sid : null
}

/**
 * Uses a callback's state once: the sign-in leg's or the consent leg's, of
 * the session in this browser's cookie. Without a genuine cookie nothing is
 * queried, and a state of another session is refused without being used.
 */
export async function takeConnectState(c: ConnectContext, state: string | null, now: number): Promise<TakenLeg> {
  if (!state || state.length > 512) throw refused('no state')
  const sessionId = await cookieSessionId(c)
  if (!sessionId) throw refused('connect cookie missing or for another host')
  const row = await getDb(c.env.DB)
    .update(connectSessions)
    .set({ phase: sql`CASE ${connectSessions.phase} WHEN 'signin' THEN 'signed_in' ELSE 'done' END` })
    .where(
      and(
        eq(connectSessions.id, sessionId),
        eq(connectSessions.stateHash, await sha256(state)),
        inArray(connectSessions.phase, ['signin', 'consent']),
        gt(connectSessions.expiresAt, now),
      ),
    )
    .returning()
    .get()
  if (!row) throw refused('state unknown, expired, used or of another session')
  const flowKey = c.var.config.flowKey
  if (row.phase === 'signed_in') {
    const secrets = await unseal<SignInSecrets>(row.secrets, flowKey, secretsAudience(row.id))
    if (!secrets) throw refused('secrets unreadable')
    return { leg: 'signin', sessionId: row.id, linkId: row.linkId, secrets }
  }
  const secrets = await unseal<ConsentSecrets>(row.secrets, flowKey, secretsAudience(row.id))
  if (!secrets) throw refused('secrets unreadable')
  return { leg: 'consent', sessionId: row.id, linkId: row.linkId, secrets }
}

/** After the administrator's sign-in: the consent leg's state, with who signed in sealed for it. */
export async function askForConsent(
  c: ConnectContext,
  sessionId: string,
  admin: Identity,
  role: string,
  token: string,
) {
  const state = randomToken(32)
  const secrets: ConsentSecrets = { admin: signedIn(admin), role, token }
  const updated = await getDb(c.env.DB)
    .update(connectSessions)
    .set({
      phase: 'consent',
      stateHash: await sha256(state),
      secrets: await seal({ ...secrets }, c.var.config.flowKey, secretsAudience(sessionId), SESSION_TTL_SECONDS),
    })
    .where(and(eq(connectSessions.id, sessionId), eq(connectSessions.phase, 'signed_in')))
    .returning({ id: connectSessions.id })
    .get()
  if (!updated) throw refused('session moved on meanwhile')
  return state
}

export function clearConnectCookie(c: ConnectContext): void {
  deleteCookie(c, CONNECT_COOKIE, { prefix: 'host', ...COOKIE_OPTIONS })
}

/** Deletes up to `limit` connect sessions that expired more than an hour ago; how many it deleted. */
export async function deleteExpiredConnectSessions(d1: D1Database, now: number, limit: number): Promise<number> {
  const db = getDb(d1)
  const expired = db
    .select({ id: connectSessions.id })
    .from(connectSessions)
    .where(lt(connectSessions.expiresAt, now - 3600_000))
    .limit(limit)
  const result = await db.delete(connectSessions).where(inArray(connectSessions.id, expired)).run()
  return result.meta.changes ?? 0
}
