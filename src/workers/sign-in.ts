/**
 * The sign-in Worker's routes (ARCHITECTURE §1): the login pages, `/sso/*`
 * and the JWKS. A console sign-in ends here too (`/sso/callback` on the
 * primary host starts the console session: `console/sign-in.ts` is small and
 * needs no admin code), so a staff member's sign-in never crosses Workers.
 */
import { consoleSignedIn } from '../console/sign-in'
import { handoffJwks } from '../handoff/jwks'
import { signInRoutes } from '../signin/routes'
import type { Mount } from './chain'

export const mountSignIn: Mount = (app) => {
  app.route('/', handoffJwks)
  app.route('/', signInRoutes({ consoleSignedIn }))
}
