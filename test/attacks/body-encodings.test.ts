/**
 * (holds): body limits are counted on the bytes the Worker reads. A
 * compressed body (Content-Encoding: gzip, a 4 MiB JSON document in a few
 * KiB) is never inflated past the bound: either the runtime hands the
 * compressed bytes through (then it is not JSON: 400) or it inflates while
 * reading (then the inflated bytes are what is counted: 413). Nothing is
 * created either way. The chooser's form (16 KiB) likewise.
 */
import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { TEST_ADMIN_KEY } from '../bindings'
import { dbAll, PRIMARY, seedSignInTenant, startLogin } from '../fixtures'

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

describe('compressed bodies do not get past the limits', () => {
  it('a gzip JSON body inflating to 4 MiB creates nothing and is refused below 500', async () => {
    const name = `Bomb ${crypto.randomUUID()}`
    const json = `{"name":${JSON.stringify(name)},${' '.repeat(4 * 1024 * 1024)}"kind":"partner"}`
    const body = await gzip(json)
    expect(body.byteLength).toBeLessThan(64 * 1024)
    const res = await SELF.fetch(`https://${PRIMARY}/api/v1/orgs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_ADMIN_KEY}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body,
    })
    const text = await res.text()
    expect([400, 413, 415], text).toContain(res.status)
    expect(await dbAll('SELECT id FROM organizations WHERE name = ?', name)).toEqual([])
  })

  it('a gzip chooser form inflating past 16 KiB is refused below 500', async () => {
    const tenant = await seedSignInTenant()
    const { cookie } = await startLogin(tenant.hostname)
    const body = await gzip(`token=${'a'.repeat(1024 * 1024)}&phoneSystem=${tenant.phoneSystemId}`)
    const res = await SELF.fetch(`https://${tenant.hostname}/sso/choose`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        cookie: `__Host-sso_flow=${cookie}`,
        'content-type': 'application/x-www-form-urlencoded',
        'content-encoding': 'gzip',
        origin: `https://${tenant.hostname}`,
        'sec-fetch-site': 'same-origin',
      },
      body,
    })
    await res.text()
    expect([400, 413]).toContain(res.status)
  })
})
