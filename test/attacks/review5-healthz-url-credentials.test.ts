/**
 * Review 5: `GET /healthz` answers anyone, on any host, with the first
 * configuration problem's message. The messages of the URL variables
 * (DOH_URL, new today, and ENTRA_AUTHORITY, GRAPH_BASE, CLOUDFLARE_API_BASE)
 * echoed the value as written: a DOH_URL refused precisely because it
 * carries credentials or a token in its query published that credential to
 * every anonymous visitor. This proves the message still names the variable
 * and what is wrong, and never the credential, query or fragment.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { app } from '../../src/index'

const SECRET = 'Sup3rSecretCredential'

async function healthz(overrides: Record<string, string>) {
  const res = await app.request(
    `https://anyone-${crypto.randomUUID()}.example.org/healthz`,
    {},
    { ...env, ...overrides },
  )
  expect(res.status).toBe(503)
  return res.json<{ configuration: string }>()
}

describe('/healthz never shows a credential written into a URL variable', () => {
  const cases: Array<[string, string]> = [
    ['DOH_URL', `https://gateway:${SECRET}@doh.provider.example/dns-query`],
    ['DOH_URL', `https://doh.provider.example/dns-query?token=${SECRET}`],
    ['DOH_URL', `https://doh.provider.example/dns-query#${SECRET}`],
    ['DOH_URL', `http://gateway:${SECRET}@doh.provider.example/dns-query`],
    ['ENTRA_AUTHORITY', `https://gateway:${SECRET}@login.microsoftonline.com`],
    ['ENTRA_AUTHORITY', `https://login.microsoftonline.com/?key=${SECRET}`],
    ['GRAPH_BASE', `http://gateway:${SECRET}@graph.provider.example`],
    ['GRAPH_BASE', `ftp://gateway:${SECRET}@graph.provider.example`],
  ]
  for (const [name, value] of cases) {
    it(`${name} = ${value.replace(SECRET, '<secret>')}`, async () => {
      const body = await healthz({ [name]: value })
      expect(body.configuration).toMatch(new RegExp(`^invalid: ${name} `))
      expect(JSON.stringify(body)).not.toContain(SECRET)
    })
  }

  it('CLOUDFLARE_API_BASE written without a scheme', async () => {
    const body = await healthz({
      CUSTOM_HOSTNAMES: 'cloudflare',
      CLOUDFLARE_API_BASE: `gateway:${SECRET}@api.cloudflare.com`,
    })
    expect(body.configuration).toMatch(/^invalid: CLOUDFLARE_API_BASE /)
    expect(JSON.stringify(body)).not.toContain(SECRET)
  })
})
