/**
 * Review 8: a SCIM-pushed user is a user of the phone system's tenant only. A hostile
 * tenant's provisioning pushes the UPN and email of ANOTHER tenant's user onto its own
 * list; that user, signing in from their own tenant on the primary host (which reaches
 * every phone system), is refused, because a record without oid matches only within its own tid. The defence holds; this pins it.
 */
import { describe, expect, it } from 'vitest'
import { assertionFrom, dbAll, HANDOFF_FIELD, PRIMARY, signIn } from '../fixtures'
import { entraUser, scim, scimJson, seedScimTenant } from '../scim/helpers'

describe("review 8: SCIM cannot list another tenant's user", () => {
  it("the hostile tenant's record of a victim's UPN and email does not let the victim (their tenant) in on the primary host", async () => {
    const hostile = await seedScimTenant()
    const victim = await seedScimTenant()
    const pushed = await scimJson(
      await scim(hostile, 'POST', '/Users', entraUser(victim.user.upn, { email: victim.user.upn })),
      201,
    )
    expect(await dbAll('SELECT tid, upn FROM sso_users WHERE id = ?', pushed.id)).toEqual([
      { tid: hostile.tenantId, upn: victim.user.upn.toLowerCase() },
    ])
    // (The hostile tenant's own host sends sign-in to its tenant's authority, where the victim has no account.)
    const attempt = await signIn(PRIMARY, victim.user)
    expect(attempt.html).not.toContain(HANDOFF_FIELD)
    expect(attempt.res.status).toBe(403)
    // Their own tenant's provisioning lists them: in, as their own record, with their tid.
    const own = await scimJson(await scim(victim, 'POST', '/Users', entraUser(victim.user.upn)), 201)
    const signedIn = await signIn(PRIMARY, victim.user)
    expect(signedIn.res.status, signedIn.html.slice(0, 300)).toBe(200)
    expect(assertionFrom(signedIn.html).claims).toMatchObject({ sub: own.id, tid: victim.tenantId })
  })
})
