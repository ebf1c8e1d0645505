/**
 * `npm run keys:new`: prints a fresh private EC P-256 JWK with a kid, for
 * SIGNING_KEYS (README: "Rotating signing keys"). Printed, never written:
 * it goes straight into `wrangler secret put SIGNING_KEYS`.
 */
import { newSigningJwk } from './lib.ts'

console.log(JSON.stringify(newSigningJwk()))
