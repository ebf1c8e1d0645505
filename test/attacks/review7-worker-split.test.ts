/**
 * (holds) Deployed, the sign-in Worker serves every host, and only the primary host's `/admin*`,
 * `/api/*` and `/connect/*` routes go to the admin Worker. Whatever reaches the sign-in Worker
 * instead (a tenant host, another spelling of the path, a path Cloudflare's route patterns do not
 * match) must find no admin API, console or tenant proof there, even with the ops key: the
 * combined local Worker (src/index.ts) that the other tests run cannot show this.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import signInWorker from '../../src/sign-in-worker'
import { TEST_ADMIN_KEY } from '../bindings'
import { dbAll, PRIMARY, seedTenant } from '../fixtures'

async function toSignInWorker(url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await signInWorker.fetch(new Request(url, { redirect: 'manual', ...init }), env as never, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

const ops = { authorization: `Bearer ${TEST_ADMIN_KEY}` }

describe('the sign-in Worker holds no admin route', () => {
  it('answers 404 to the admin API, the console and the tenant proof, on any host and in any spelling', async () => {
    const { hostname } = await seedTenant()
    const paths = [
      '/api/v1/orgs',
      '/API/v1/orgs',
      '//api/v1/orgs',
      '/api/v1/../v1/orgs',
      '/%61pi/v1/orgs',
      '/admin',
      '/admin/',
      '/Admin',
      '/admin%2Flogin',
      '/admin/login',
      '/admin/orgs',
      '/connect/start',
    ]
    for (const host of [PRIMARY, hostname]) {
      for (const path of paths) {
        const res = await toSignInWorker(`https://${host}${path}`, { headers: ops })
        expect(res.status, `${host}${path}`).toBe(404)
        expect(res.headers.get('set-cookie'), `${host}${path}`).toBeNull()
        await res.text()
      }
    }
  })

  it('creates nothing when the admin API is posted to it with the ops key', async () => {
    const before = await dbAll<{ n: number }>('SELECT count(*) AS n FROM organizations')
    const res = await toSignInWorker(`https://${PRIMARY}/api/v1/orgs`, {
      method: 'POST',
      headers: { ...ops, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Squatter', kind: 'partner' }),
    })
    expect(res.status).toBe(404)
    await res.text()
    expect(await dbAll<{ n: number }>('SELECT count(*) AS n FROM organizations')).toEqual(before)
  })

  it('still serves sign-in: the login page and the JWKS', async () => {
    const page = await toSignInWorker(`https://${PRIMARY}/`)
    expect(page.status).toBe(200)
    await page.text()
    const jwks = await toSignInWorker(`https://${PRIMARY}/.well-known/jwks.json`)
    expect(jwks.status).toBe(200)
    await jwks.text()
  })
})
