/**
 * The browser side of `npm run bench:signin`: whole sign-ins, request by
 * request, over keep-alive connections from this process to workerd (one
 * port, the Host header names the site) and to the Entra stand-in, with a
 * cookie jar per sign-in. Each step is timed; a sign-in counts only when it
 * ends on the page it should (the gateway's handoff form, the peer's
 * signed-in page).
 */
import http from 'node:http'

export const STEPS = ['login page', 'start', 'authorize', 'callback', 'complete'] as const
export type Step = (typeof STEPS)[number]

export interface SignInResult {
  ok: boolean
  /** Why it failed (the step and what came back). */
  detail: string
  totalMs: number
  steps: Partial<Record<Step, number>>
}

export interface User {
  oid: string
  tid: string
  upn: string
  email: string
  name: string
}

interface Response {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One browser's cookies for one sign-in: by host, name and path (RFC 6265's model, simplified: host-only cookies). */
class CookieJar {
  private readonly cookies = new Map<string, Map<string, { value: string; path: string }>>()

  take(host: string, setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      let path = '/'
      let expired = false
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.split('=')
        const k = key.trim().toLowerCase()
        if (k === 'path') path = val.trim() || '/'
        if (k === 'max-age' && Number(val) <= 0) expired = true
        if (k === 'expires' && Date.parse(val) < Date.now()) expired = true
      }
      let site = this.cookies.get(host)
      if (!site) {
        site = new Map()
        this.cookies.set(host, site)
      }
      const key = `${name}\u0000${path}`
      if (expired) site.delete(key)
      else site.set(key, { value, path })
    }
  }

  header(host: string, pathname: string): string | undefined {
    const site = this.cookies.get(host)
    if (!site) return undefined
    const pairs: string[] = []
    for (const [key, { value, path }] of site) {
      if (pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
        pairs.push(`${key.split('\u0000')[0]}=${value}`)
    }
    return pairs.length ? pairs.join('; ') : undefined
  }
}

export interface Target {
  /** workerd's port on 127.0.0.1. */
  port: number
  agent: http.Agent
}

export class Browser {
  readonly jar = new CookieJar()
  private readonly workerd: Target
  private readonly standIn: Target & { base: string }

  constructor(workerd: Target, standIn: Target & { base: string }) {
    this.workerd = workerd
    this.standIn = standIn
  }

  /** A request to `url` as a browser would send it: to workerd (or the stand-in, by its address), cookies attached. */
  request(url: string, options: { method?: string; body?: string; step?: Step } = {}): Promise<Response> {
    const u = new URL(url)
    const toStandIn = url.startsWith(this.standIn.base)
    const target = toStandIn ? this.standIn : this.workerd
    const headers: http.OutgoingHttpHeaders = { host: u.host }
    const cookie = this.jar.header(u.host, u.pathname)
    if (cookie) headers.cookie = cookie
    if (options.step && !toStandIn) headers['x-bench-step'] = options.step
    if (options.body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      headers['content-length'] = Buffer.byteLength(options.body)
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: target.port,
          method: options.method ?? 'GET',
          path: `${u.pathname}${u.search}`,
          headers,
          agent: target.agent,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            this.jar.take(u.host, res.headers['set-cookie'])
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
          })
          res.on('error', reject)
        },
      )
      req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${url}`)))
      req.on('error', reject)
      if (options.body !== undefined) req.write(options.body)
      req.end()
    })
  }
}

/** Times the steps of one sign-in; `fail` ends it with what went wrong. */
class Timer {
  readonly steps: Partial<Record<Step, number>> = {}
  private readonly started = performance.now()

  async step<T>(step: Step, run: () => Promise<T>): Promise<T> {
    const t0 = performance.now()
    try {
      return await run()
    } finally {
      this.steps[step] = (this.steps[step] ?? 0) + (performance.now() - t0)
    }
  }

  done(ok: boolean, detail: string): SignInResult {
    return { ok, detail, totalMs: performance.now() - this.started, steps: this.steps }
  }
}

const location = (res: Response) => String(res.headers.location ?? '')
const brief = (res: Response) => `${res.status} ${res.body.slice(0, 160).replace(/\s+/g, ' ')}`

/** The stand-in's account picker, shown then answered for `user`: Entra's redirect back (not followed). */
async function pickAccount(browser: Browser, timer: Timer, authorize: string, user: User): Promise<Response> {
  return timer.step('authorize', async () => {
    const page = await browser.request(authorize)
    if (page.status !== 200) return page
    return browser.request(authorize, { method: 'POST', body: new URLSearchParams({ user: user.oid }).toString() })
  })
}

export interface GatewaySites {
  /** The host the user starts on. */
  host: string
  /** Where Entra sends the browser back: the primary host (central) or `host` itself (direct). */
  callbackHost: string
}

/**
 * The gateway's sign-in: login page -> /sso/login -> the stand-in's picker ->
 * /sso/callback (on the primary host: 303 to /sso/complete on the user's host;
 * on a direct host: the answer itself) -> the handoff page.
 */
export async function gatewaySignIn(
  browser: Browser,
  sites: GatewaySites,
  standInBase: string,
  user: User,
): Promise<SignInResult> {
  const timer = new Timer()
  const origin = `http://${sites.host}`
  const page = await timer.step('login page', () => browser.request(`${origin}/`, { step: 'login page' }))
  if (page.status !== 200 || !page.body.includes('Sign in with Microsoft'))
    return timer.done(false, `login page ${brief(page)}`)
  const start = await timer.step('start', () => browser.request(`${origin}/sso/login`, { step: 'start' }))
  if (start.status !== 302 || !location(start).startsWith(standInBase))
    return timer.done(false, `/sso/login ${brief(start)}`)
  const picked = await pickAccount(browser, timer, location(start), user)
  const callbackUrl = location(picked)
  if (picked.status !== 302 || !callbackUrl.startsWith(`http://${sites.callbackHost}/sso/callback?code=`))
    return timer.done(false, `authorize ${brief(picked)}`)
  const callback = await timer.step('callback', () => browser.request(callbackUrl, { step: 'callback' }))
  let handoff = callback
  if (sites.callbackHost !== sites.host) {
    if (callback.status !== 303 || !location(callback).startsWith(`${origin}/sso/complete?`))
      return timer.done(false, `/sso/callback ${brief(callback)}`)
    handoff = await timer.step('complete', () => browser.request(location(callback), { step: 'complete' }))
  }
  const ok = handoff.status === 200 && handoff.body.includes('name="assertion"')
  return timer.done(ok, ok ? 'handoff page' : `handoff ${brief(handoff)}`)
}

/** The peer's sign-in: GET / -> the stand-in's picker -> /callback -> 302 back to / -> the signed-in page. */
export async function peerSignIn(
  browser: Browser,
  host: string,
  standInBase: string,
  user: User,
): Promise<SignInResult> {
  const timer = new Timer()
  const origin = `http://${host}`
  const start = await timer.step('start', () => browser.request(`${origin}/`))
  if (start.status !== 302 || !location(start).startsWith(standInBase))
    return timer.done(false, `GET / ${brief(start)}`)
  const picked = await pickAccount(browser, timer, location(start), user)
  if (picked.status !== 302 || !location(picked).startsWith(`${origin}/callback?`))
    return timer.done(false, `authorize ${brief(picked)}`)
  const callback = await timer.step('callback', () => browser.request(location(picked)))
  if (callback.status !== 302) return timer.done(false, `/callback ${brief(callback)}`)
  const page = await timer.step('complete', () => browser.request(new URL(location(callback), origin).href))
  const ok = page.status === 200 && page.body.includes(`Hello <${user.email}>`)
  return timer.done(ok, ok ? 'signed-in page' : `GET / signed in ${brief(page)}`)
}

export interface CellRun {
  seconds: number
  results: SignInResult[]
}

/**
 * `concurrency` browsers signing in one after another for `seconds`, each
 * with a fresh cookie jar and the next user of `users` (round robin).
 */
export async function runCell(
  concurrency: number,
  seconds: number,
  users: User[],
  signIn: (browser: Browser, user: User) => Promise<SignInResult>,
  newBrowser: () => Browser,
  nextUser: () => number,
): Promise<CellRun> {
  const results: SignInResult[] = []
  const started = performance.now()
  const deadline = started + seconds * 1000
  async function lane() {
    while (performance.now() < deadline) {
      const user = users[nextUser() % users.length]!
      try {
        results.push(await signIn(newBrowser(), user))
      } catch (error) {
        results.push({ ok: false, detail: String(error), totalMs: 0, steps: {} })
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return { seconds: (performance.now() - started) / 1000, results }
}
