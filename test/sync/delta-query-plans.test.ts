/**
 * Every read of a delta sync is answered from an index: EXPLAIN QUERY PLAN
 * on the statements the code runs (`DELTA_READS`), against the migrated
 * schema. A full scan of `sso_users` or of a `sync_delta_*` table would read
 * every list of every phone system (a million rows at scale).
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { DELTA_READS } from '../../src/sync/delta-store'

async function planOf(sql: string, params: unknown[]): Promise<string[]> {
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>()
  return results.map((r) => r.detail)
}

const PARAMS: Record<keyof typeof DELTA_READS, unknown[]> = {
  state: ['ps'],
  direct: ['ps'],
  size: ['ps'],
  memberships: ['ps', '["a"]'],
  listed: ['ps', 'tid', '["a"]'],
  disabled: ['ps', '["a"]'],
  upns: ['ps', '["a@b.example"]'],
  emails: ['ps', '["a@b.example"]'],
}

const EXPECTED_INDEX: Record<keyof typeof DELTA_READS, RegExp> = {
  state: /SEARCH sync_delta_state USING INDEX sqlite_autoindex_sync_delta_state_1/,
  direct: /SEARCH sync_delta_members USING (COVERING )?INDEX sync_delta_members_direct_idx/,
  size: /SEARCH sso_users USING COVERING INDEX/,
  memberships: /SEARCH sync_delta_members USING (COVERING )?INDEX sqlite_autoindex_sync_delta_members_1/,
  listed: /SEARCH sso_users USING INDEX sso_users_ps_oid_uq/,
  disabled: /SEARCH sync_delta_disabled USING (COVERING )?INDEX sqlite_autoindex_sync_delta_disabled_1/,
  upns: /SEARCH sso_users USING INDEX sso_users_ps_upn_uq/,
  emails: /SEARCH sso_users USING INDEX sso_users_ps_email_uq/,
}

describe('the reads of a delta sync use an index', () => {
  it.each(Object.keys(DELTA_READS) as Array<keyof typeof DELTA_READS>)('%s', async (name) => {
    const plan = await planOf(DELTA_READS[name], PARAMS[name])
    expect(plan.join('\n')).toMatch(EXPECTED_INDEX[name])
    for (const line of plan) expect(line, plan.join('\n')).not.toMatch(/^SCAN (sso_users|sync_delta_\w+)\b/)
  })
})
