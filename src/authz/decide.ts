/**
 * Authorization (ARCHITECTURE §3.5) as one decision the routes render: the user's
 * tenant may not sign in here, they are on no list here, they go straight to
 * their one phone system, or they choose among several.
 */

import type { Config } from '../config'
import type { D1Reader } from '../db/client'
import { AppError } from '../errors'
import { allowsTenant, type EntraClient } from '../oidc/clients'
import type { Identity } from '../oidc/identity'
import type { Site } from '../tenancy/site'
import { type Candidate, cachedReachOf, findCandidates, reachesTenant, tenantsOf } from './candidates'

export type Decision =
  | { kind: 'tenant_not_allowed' }
  | { kind: 'not_listed' }
  | { kind: 'handoff'; candidate: Candidate }
  | { kind: 'choose'; candidates: Candidate[] }

/** Pure: what the candidates found mean. */
export function decide(candidates: readonly Candidate[]): Decision {
  if (candidates.length === 0) return { kind: 'not_listed' }
  if (candidates.length === 1) return { kind: 'handoff', candidate: candidates[0]! }
  return { kind: 'choose', candidates: [...candidates] }
}

/**
 * The decision for a verified identity on a site. The client and the reach may come from the
 * isolate's caches (a few seconds stale: they only refuse early); the SSO list, and on a portal's host
 * the phone systems and allowed tenants with it, are read from D1 now (`findCandidates`), as is, on
 * the primary host, whether any proven phone system has the user's tenant.
 */
export async function authorize(
  d1: D1Reader,
  config: Config,
  site: Site,
  client: EntraClient,
  identity: Identity,
): Promise<Decision> {
  if (!allowsTenant(client.allowedTenantIds, identity.tid)) return { kind: 'tenant_not_allowed' }
  const reach = await cachedReachOf(d1, config, site)
  if (!(await reachesTenant(d1, reach, identity.tid))) return { kind: 'tenant_not_allowed' }
  return decide(await findCandidates(d1, reach, identity))
}

/**
 * The tenants whose users may sign in on a site with `client`: those of the
 * proven phone systems its portal serves, narrowed to the portal's allowed
 * tenants; null on the primary host (any tenant with a proven phone
 * system). None at all is a page that says why: no phone system yet, or
 * none whose Microsoft 365 an administrator has connected.
 */
export async function tenantsServed(
  d1: D1Reader,
  config: Config,
  site: Site,
  client: EntraClient,
): Promise<string[] | null> {
  const reach = await cachedReachOf(d1, config, site)
  if (reach.kind === 'all') return null
  const tenants = tenantsOf(reach).filter((tid) => allowsTenant(client.allowedTenantIds, tid))
  if (tenants.length > 0) return tenants
  if (reach.phoneSystems.length === 0 && reach.unproven > 0) {
    throw new AppError('host_not_connected', `Only unverified phone systems are reachable from ${site.hostname}`)
  }
  throw new AppError('no_phone_systems', `No phone system reachable from ${site.hostname}`)
}
