import type { Context } from 'hono'
import { OPS, type Principal } from '../access/principal'
import { AppError } from '../errors'
import type { AppEnv } from '../http/context'
import { secretsEqual } from '../lib/crypto'
import { log } from '../log'
import { principalForKey } from '../orgs/api-keys'

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i

function unauthorized(): AppError {
  return new AppError('unauthorized', 'Send a valid API key as "Authorization: Bearer <key>"', {
    headers: { 'WWW-Authenticate': 'Bearer realm="admin"' },
  })
}

/** Who the caller is, from the bearer key: the ops key, or a partner key; 401 for a missing, malformed, unknown or revoked key. */
export async function authenticate(c: Context<AppEnv>): Promise<Principal> {
  const match = BEARER.exec(c.req.header('authorization') ?? '')
  if (!match) throw unauthorized()
  const presented = match[1]!
  const opsKey = c.var.config.adminApiKey
  if (opsKey === undefined) {
    log('warn', 'ADMIN_API_KEY is not set: only partner keys can authenticate', { correlationId: c.var.correlationId })
  } else if (await secretsEqual(presented, opsKey)) {
    return OPS
  }
  const partner = await principalForKey(c.env.DB, presented, Date.now())
  if (partner) return partner
  throw unauthorized()
}
