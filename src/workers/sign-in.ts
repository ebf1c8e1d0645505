/**
 * The sign-in Worker's routes (ARCHITECTURE §1): the login pages, `/sso/*`
 * and the JWKS. A console sign-in ends here too (`/sso/callback` on the
 * primary host starts the console session: `console/sign-in.ts` is small and
 * needs no admin code), so a staff member's sign-in never crosses Workers.
 */

import type { Hono } from 'hono/tiny'
import { consoleSignedIn } from '../console/sign-in'
import { handoffJwks } from '../handoff/jwks'
import type { AppEnv } from '../http/context'
import { loginAnswer } from '../signin/login-page'
import { signInRoutes } from '../signin/routes'
import type { Mount } from './chain'

export const mountSignIn: Mount = Object.assign(
  (app: Hono<AppEnv>) => {
    app.route('/', handoffJwks)
    app.route('/', signInRoutes({ consoleSignedIn }))
  },
  // The login page, also answered before the chain on a host the isolate knows. Only `/`: `/sso/webclient`
  // is rate limited as all of `/sso/*`, which the chain does.
  { memoryPage: { path: '/', answer: loginAnswer } },
)
