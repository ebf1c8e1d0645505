/**
 * The demo phone web client of `npm start` and the browser tests: receives
 * the gateway's handoff POST, verifies the assertion (verify.ts, the
 * reference for integrators) and shows who signed in.
 */
import type http from 'node:http'
import { createRemoteJWKSet, customFetch } from 'jose'
import { escapeHtml, LocalServer, readBody } from '../http.ts'
import { requestWithHost } from '../lib.ts'
import { HandoffRejected, verifyHandoffAssertion } from './verify.ts'

export interface DemoPhoneSystem {
  id: string
  name: string
}

export interface WebClientOptions {
  /** The gateway's public origin: the assertions' issuer and where the JWKS lives. */
  gatewayOrigin: string
  /** Where the gateway actually listens (127.0.0.1 and a port); the Host header carries the name. */
  gatewayPort: number
  port?: number
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:flex;justify-content:center;padding:3rem 1rem}
main{background:#1e293b;max-width:30rem;width:100%;padding:2rem;border-radius:.75rem}h1{margin-top:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{color:#94a3b8}dd{margin:0}code{font-size:.8rem;word-break:break-all}
.bad{color:#fca5a5}</style></head><body><main>${body}</main></body></html>`
}

export class DemoWebClient extends LocalServer {
  /** slug -> phone system (the path segment of its handoff URL). */
  readonly phoneSystems = new Map<string, DemoPhoneSystem>()
  private readonly seen = new Map<string, number>()
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>
  private readonly options: WebClientOptions
  protected readonly serverName = 'demo web client'

  constructor(options: WebClientOptions) {
    super()
    this.options = options
    const gateway = new URL(options.gatewayOrigin)
    this.jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', gateway), {
      // The gateway is reached on loopback under its *.localhost name.
      [customFetch]: async (url: string) => {
        const target = new URL(url)
        const res = await requestWithHost({ port: options.gatewayPort, host: target.host, path: target.pathname })
        return new Response(res.body, {
          status: res.status,
          headers: { 'content-type': String(res.headers['content-type'] ?? '') },
        })
      },
    })
  }

  async listen(port = 0): Promise<string> {
    return this.serve(port, '127.0.0.1', (p) => `http://webclient.localhost:${p}`)
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://webclient.localhost')
    const [slug, ...rest] = url.pathname.split('/').filter(Boolean)
    const system = slug ? this.phoneSystems.get(slug) : undefined
    const send = (status: number, html: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(html)
    }
    if (!system) return send(404, page('Unknown phone system', '<h1>Unknown phone system</h1>'))

    if (req.method === 'POST' && rest.join('/') === 'sso/handoff') {
      const form = new URLSearchParams(await readBody(req, 64 * 1024))
      const assertion = form.get('assertion') ?? ''
      try {
        const who = await verifyHandoffAssertion(assertion, {
          issuer: this.options.gatewayOrigin,
          audience: system.id,
          jwks: this.jwks,
          seen: this.seen,
        })
        return send(
          200,
          page(
            `${system.name} web client`,
            `<h1 id="welcome">Welcome, ${escapeHtml(who.name ?? who.email ?? who.oid)}</h1>
<p>Signed in to <strong>${escapeHtml(system.name)}</strong> with Microsoft 365 single sign-on.</p>
<dl id="who"><dt>Name</dt><dd id="name">${escapeHtml(who.name ?? '')}</dd>
<dt>Email</dt><dd id="email">${escapeHtml(who.email ?? '')}</dd>
<dt>Extension</dt><dd id="ext">${escapeHtml(who.ext ?? '')}</dd>
<dt>SSO user</dt><dd><code>${escapeHtml(who.sub)}</code></dd>
<dt>Entra tenant</dt><dd><code>${escapeHtml(who.tid)}</code></dd>
<dt>Entra object</dt><dd><code>${escapeHtml(who.oid)}</code></dd></dl>
<p>The assertion was verified against the gateway's JWKS: signature (ES256), typ, iss, aud, exp and a jti never seen before.</p>`,
          ),
        )
      } catch (error) {
        const reason = error instanceof HandoffRejected ? error.message : 'assertion refused'
        return send(
          401,
          page('Sign-in refused', `<h1 class="bad">Sign-in refused</h1><p id="reason">${escapeHtml(reason)}</p>`),
        )
      }
    }
    return send(
      200,
      page(
        `${system.name} web client`,
        `<h1>${escapeHtml(system.name)} web client</h1><p>Not signed in. Use your organization's sign-in page.</p>`,
      ),
    )
  }
}

export async function startDemoWebClient(options: WebClientOptions): Promise<DemoWebClient> {
  const client = new DemoWebClient(options)
  await client.listen(options.port ?? 0)
  return client
}
