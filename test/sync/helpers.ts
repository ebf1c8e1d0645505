import { env } from 'cloudflare:test'
import { expect } from 'vitest'
import { TEST_CLIENT_ID } from '../bindings'
import { entraControl } from '../signin/helpers'

export const SYNC_ROLES = ['Application.Read.All', 'User.Read.All', 'GroupMember.Read.All']

export interface DirUser {
  id: string
  userPrincipalName: string
  mail: string | null
  displayName: string
  accountEnabled: boolean
}

export function dirUser(n: number, tag = crypto.randomUUID().slice(0, 8), enabled = true): DirUser {
  return {
    id: crypto.randomUUID(),
    userPrincipalName: `User.${tag}.${n}@Contoso.example`,
    mail: `user.${tag}.${n}@contoso.example`,
    displayName: `User ${tag} ${n}`,
    accountEnabled: enabled,
  }
}

export async function graphControl(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${env.GRAPH_BASE}/__control/${path}`, { method: 'POST', body: JSON.stringify(body) })
  expect(res.ok, `graph control ${path}: ${res.status}`).toBe(true)
  return res.json()
}

/** Consents the provider's test app in `tid` with `roles` (what the integration's activation does). */
export async function consent(tid: string, roles = SYNC_ROLES, clientId = TEST_CLIENT_ID): Promise<void> {
  await entraControl(`apps/${clientId}/grants`, { tenantId: tid, roles })
}

/**
 * A tenant directory where the sign-in app is installed: `direct` users
 * assigned one by one, `grouped` users through one group, plus `others`
 * nobody assigned.
 */
export async function directory(
  tid: string,
  options: { direct?: DirUser[]; grouped?: DirUser[]; others?: DirUser[]; clientId?: string } = {},
) {
  const groupId = crypto.randomUUID()
  const direct = options.direct ?? []
  const grouped = options.grouped ?? []
  await graphControl(`tenants/${tid}`, {
    users: [...direct, ...grouped, ...(options.others ?? [])],
    groups: [{ id: groupId, displayName: 'Phone users', members: grouped.map((u) => u.id) }],
    servicePrincipals: [
      {
        appId: options.clientId ?? TEST_CLIENT_ID,
        assignments: [
          ...direct.map((u) => ({ principalId: u.id, principalType: 'User' })),
          ...(grouped.length ? [{ principalId: groupId, principalType: 'Group' }] : []),
        ],
      },
    ],
  })
  return { groupId }
}
