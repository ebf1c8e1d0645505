/**
 * What the sign-in benches (`npm run bench:signin`, `npm run bench:scale`)
 * set up the same way: the SSO users, the Entra stand-in in a process of its
 * own (entra-process.ts), and the sites of a started workerd (the seeded
 * tenant's host signing in centrally, a direct host, the users on the SSO
 * list).
 */
import { type ChildProcess, fork } from 'node:child_process'
import type { EntraStandInOptions } from '../../dev/entra/server.ts'
import { CLIENT_ID, type Running, TENANT_ID } from '../../dev/workerd.ts'
import type { User } from './driver.ts'

/** The host that signs in with the direct callback (its own /sso/callback). */
export const DIRECT = 'direct.localhost'

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

/** Distinct SSO users, in the phone system's tenant: on its SSO list and in the stand-in's directory. */
export function benchUsers(count: number): User[] {
  return Array.from({ length: count }, (_, i) => ({
    oid: `be7c${hex(i, 4)}-0000-4000-8000-${hex(i, 12)}`,
    tid: TENANT_ID,
    upn: `user${i}@acme.example`,
    email: `user${i}@acme.example`,
    name: `User ${i}`,
  }))
}

/** The Entra stand-in in its own process, with `options`; ends with this process. */
export async function startStandIn(options: EntraStandInOptions): Promise<{ child: ChildProcess; base: string }> {
  const child = fork(new URL('./entra-process.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const base = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { base: string }).base))
    child.once('exit', (code) => reject(new Error(`the Entra stand-in exited (${code})`)))
    child.send(options)
  })
  process.on('exit', () => child.kill())
  return { child, base }
}

/**
 * The direct host beside the seeded tenant's, and `users` on the phone system's SSO list, through the admin
 * API. Direct mode as after its redirect URI was confirmed on the app (registered on the stand-in): the
 * registration itself goes through Graph, which the benches do not run.
 */
export async function prepareSignInSites(running: Running, users: User[]): Promise<void> {
  const { mf, admin } = running
  const phoneSystem = await admin('GET', `/phone-systems/${running.phoneSystemId}`)
  await admin('POST', `/orgs/${phoneSystem.organizationId}/hostnames`, { hostname: DIRECT })
  const db = await mf.getD1Database('DB', 'gateway')
  await db
    .prepare(
      "UPDATE hostnames SET callback_mode = 'direct', redirect_uri_registered = 1, redirect_uri_app_id = ? WHERE hostname = ?",
    )
    .bind(CLIENT_ID, DIRECT)
    .run()
  await admin('PUT', `/phone-systems/${running.phoneSystemId}/sso-users`, {
    users: users.map((u, i) => ({ oid: u.oid, displayName: u.name, extension: String(1000 + i) })),
  })
}
