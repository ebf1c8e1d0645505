/**
 * ARCHITECTURE §8 bounds a sync by users (50,000 while pulling) and a
 * scheduled run by a request budget (`RUN_BUDGET`, "a Worker invocation may
 * make 1,000 subrequests"). Neither bounds the Graph requests of ONE pull:
 * `pullSsoList` fetches the members of every group assigned to the app, one
 * request (at least) per group, and only users are counted. A tenant (the
 * partner's own, connected through a connect link) that assigns the app to
 * many empty groups makes a single sync send more requests than an invocation
 * may: the scheduled run is cut off mid-way (no outcome recorded, the claim
 * left for 15 minutes) and every phone system after it in the run starves;
 * the budget is charged only after the sync returned. failed before the fix
 * (review 4).
 *
 * Fix: count requests while pulling and stop (nothing written, a clear
 * error) past a per-sync request cap below the invocation's limit; also cap
 * the number of assigned groups.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { getConfig } from '../../src/config'
import { pullSsoList } from '../../src/sync/pull'
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../bindings'
import { consent, dirUser, graphControl, newTenantId } from '../fixtures'

const SUBREQUESTS_PER_INVOCATION = 1_000

describe('one pull stays within one invocation', () => {
  it('1,100 empty groups assigned to the app do not make a pull send more than 1,000 Graph requests', async () => {
    const tid = newTenantId()
    await consent(tid)
    const user = dirUser(1)
    const groups = Array.from({ length: 1_100 }, (_, i) => ({
      id: crypto.randomUUID(),
      displayName: `Empty ${i}`,
      members: [] as string[],
    }))
    await graphControl(`tenants/${tid}`, {
      users: [user],
      groups,
      servicePrincipals: [
        {
          appId: TEST_CLIENT_ID,
          assignments: [
            { principalId: user.id, principalType: 'User' },
            ...groups.map((g) => ({ principalId: g.id, principalType: 'Group' })),
          ],
        },
      ],
    })
    const client = {
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      orgId: null,
      homeTenantId: null,
      allowedTenantIds: null,
    }
    // Refusing (a clear error, nothing written) is a fine answer; running past the invocation's limit is not.
    await pullSsoList(getConfig(env as never), client, tid, { kind: 'app_assignments', groupId: null }).catch(
      (error: unknown) => error,
    )
    const { requests } = await graphControl(`tenants/${tid}`, {})
    expect(requests).toBeLessThanOrEqual(SUBREQUESTS_PER_INVOCATION)
  }, 120_000)
})
