/**
 * Compile-time proof that `Env` (env.ts) and wrangler.toml agree, through the
 * types `wrangler types` generates from wrangler.toml (worker-configuration.d.ts;
 * `npm run types` regenerates it, `npm run typecheck` checks it is current, then
 * compiles this file with tsconfig.bindings.json). The main tsconfig leaves both
 * out: the generated `Cloudflare.Env` would merge with the tests' own.
 *
 * Every alias below must be `never`. When one is not, tsc names the binding, var
 * or secret ("Type '"DOH_URL"' does not satisfy the constraint 'never'") and the
 * alias says what is wrong.
 */
import type { Env } from './env'
import type { SIGN_IN_SECRETS } from './secrets'

/** Accepts `never` only. */
type None<T extends never> = T

/** A Durable Object namespace compared without its class: wrangler.toml names the class, env.ts does not import it. */
type Loose<T> = T extends DurableObjectNamespace<infer _Class> ? DurableObjectNamespace : T

type RequiredKeys<T> = { [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? never : K }[keyof T]

/** Declared in wrangler.toml (some environment), unknown to Env: add it to env.ts (or drop it from wrangler.toml). */
export type DeclaredInWranglerTomlNotInEnv = None<Exclude<keyof WranglerEnv, keyof Env>>

/** Declared in both, with a type Env cannot hold. */
export type TypeDiffersFromWranglerToml = None<
  {
    [K in keyof WranglerEnv & keyof Env]-?: Loose<Exclude<WranglerEnv[K], undefined>> extends Env[K] ? never : K
  }[keyof WranglerEnv & keyof Env]
>

/**
 * Env requires it (a binding, PRIMARY_HOST), but the top level or an environment
 * of wrangler.toml lacks it: environments inherit no binding and no var.
 */
export type RequiredButMissingFromAnEnvironment = None<Exclude<RequiredKeys<Env>, RequiredKeys<WranglerEnv>>>

/**
 * A secret of the sign-in Worker (secrets.ts `SIGN_IN_SECRETS`) that a deploy environment of wrangler.toml
 * (the sign-in Worker) does not declare in `[env.<name>.secrets] required`. The admin Worker's
 * (wrangler.admin.toml, every secret) are checked by `npm run preflight`.
 */
type SignInSecret = (typeof SIGN_IN_SECRETS)[number]
export type SecretNotRequiredInProduction = None<Exclude<SignInSecret, keyof Cloudflare.ProductionEnv>>
export type SecretNotRequiredInStaging = None<Exclude<SignInSecret, keyof Cloudflare.StagingEnv>>
