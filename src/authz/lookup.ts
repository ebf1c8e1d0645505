/**
 * The D1 side of authorization: the SSO records that could belong to the
 * signed-in user, on phone systems reachable from the host, found through
 * the (tid, oid), (tid, upn) and (tid, email) indexes.
 */
import type { Site } from '../hosts/resolve'
import type { Identity } from '../oidc/entra'
import { recordFields, type SsoUserRow } from '../sso/store'
import { bestPerPhoneSystem, type MatchKind, matchRecord, type SsoRecord } from './match'

export interface PhoneSystemRef {
  id: string
  orgId: string
  name: string
  webClientUrl: string
  handoffUrl: string
}

export interface Candidate {
  record: SsoRecord
  kind: MatchKind
  phoneSystem: PhoneSystemRef
}

type Row = Omit<SsoUserRow, 'created_at' | 'updated_at'> & {
  ps_org_id: string
  ps_name: string
  ps_web_client_url: string
  ps_handoff_url: string
}

const COLUMNS = `u.id, u.phone_system_id, u.tid, u.oid, u.upn, u.email, u.display_name, u.extension,
  ps.org_id AS ps_org_id, ps.name AS ps_name, ps.web_client_url AS ps_web_client_url, ps.handoff_url AS ps_handoff_url`

/** Phone systems a tenant host reaches: its organization's and its flat customers'. */
const REACHABLE = `(ps.org_id = ?5 OR ps.org_id IN (SELECT id FROM organizations WHERE parent_id = ?5 AND structure = 'flat'))`

export async function findCandidates(d1: D1Database, site: Site, identity: Identity): Promise<Candidate[]> {
  const reach = site.kind === 'tenant' ? `AND ${REACHABLE}` : ''
  const from = `FROM sso_users u JOIN phone_systems ps ON ps.id = u.phone_system_id`
  const sql = `
    SELECT ${COLUMNS} ${from} WHERE u.tid = ?1 AND u.oid = ?2 ${reach}
    UNION ALL
    SELECT ${COLUMNS} ${from} WHERE u.tid = ?1 AND u.oid IS NULL AND u.upn = ?3 ${reach}
    UNION ALL
    SELECT ${COLUMNS} ${from} WHERE u.tid = ?1 AND u.oid IS NULL AND u.email = ?4 ${reach}
    ORDER BY ps_name, phone_system_id`
  const params: unknown[] = [identity.tid, identity.oid, identity.upn ?? null, identity.email ?? null]
  if (site.kind === 'tenant') params.push(site.org.id)
  const { results } = await d1
    .prepare(sql)
    .bind(...params)
    .all<Row>()

  const matches: Candidate[] = []
  for (const row of results) {
    const record: SsoRecord = recordFields(row)
    const kind = matchRecord(record, identity)
    if (kind === null) continue
    matches.push({
      record,
      kind,
      phoneSystem: {
        id: row.phone_system_id,
        orgId: row.ps_org_id,
        name: row.ps_name,
        webClientUrl: row.ps_web_client_url,
        handoffUrl: row.ps_handoff_url,
      },
    })
  }
  return bestPerPhoneSystem(matches)
}
