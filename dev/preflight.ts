/**
 * `npm run preflight -- --env <production|staging> [--config <file>] [--no-bundle]`
 *
 * Checks a deploy environment's configuration without deploying anything, and
 * says what to fix: one line per problem, each with its fix; exit 1 if any.
 *
 * - placeholders: no value marked PLACEHOLDER (or still a `.example` name) in
 *   the environment, named by its TOML path (`placeholders.ts`);
 * - vars: valid by the gateway's own rules (`configProblems` of src/config.ts,
 *   with stand-in secrets, as a deployed Worker: no development switch);
 * - bindings: every binding of wrangler.toml's top level (the Worker's, which
 *   `npm run typecheck` ties to src/env.ts) repeated in the environment, D1
 *   with a database id and this checkout's migrations, the crons, the secrets
 *   in `[env.<env>.secrets] required`, a route serving PRIMARY_HOST; no Worker
 *   name, D1 database, rate-limit namespace or queue shared with another
 *   environment;
 * - the two Workers (ARCHITECTURE §1), told apart by `main`: the sign-in
 *   Worker (wrangler.toml) requires the secrets of src/secrets.ts
 *   SIGN_IN_SECRETS, has no cron, consumes no queue and does not bind the
 *   admin Worker's SYNC_JOBS; the admin Worker
 *   (wrangler.admin.toml) requires every secret and the crons, consumes (with
 *   its dead letter queue) every queue the top level consumes, its routes are
 *   only the primary host's /admin*, /api/*, /connect/* and /scim/*, and its vars and
 *   D1 database are the sign-in Worker's of the same environment
 *   (`--sign-in-config`, default wrangler.toml);
 * - secrets: every name the Worker requires set on it (`wrangler secret list`);
 * - migrations: those not yet applied to the remote D1 are listed (`wrangler
 *   d1 migrations list --remote`); not a problem, the deploy applies them first;
 * - bundle: `wrangler deploy --dry-run` builds, and its size.
 *
 * The last three ask Cloudflare, through the project's wrangler (which honours
 * CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID: the
 * tests point it at the local stand-in, dev/cloudflare). When it cannot (not
 * logged in, offline), the check says so and fails; it never passes unasked.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import {
  experimental_readRawConfig,
  unstable_convertConfigBindingsToStartWorkerBindings,
  unstable_readConfig,
} from 'wrangler'
import { SECRET_NAMES, SIGN_IN_SECRETS } from '../src/secrets.ts'
import { FLEET, SYNC_QUEUES } from '../src/sync/fleet.ts'
import { newDevSecrets } from './lib.ts'
import { loadConfigProblems } from './preflight/gateway-config.ts'
import { findPlaceholders, MARK } from './preflight/placeholders.ts'
import { cloudflareFailure, runWrangler, wranglerError } from './preflight/wrangler.ts'

const root = path.resolve(import.meta.dirname, '..')

const { values } = parseArgs({
  options: {
    env: { type: 'string' },
    config: { type: 'string', default: 'wrangler.toml' },
    'no-bundle': { type: 'boolean', default: false },
    /** For the admin Worker: the sign-in Worker's configuration it must agree with. */
    'sign-in-config': { type: 'string', default: 'wrangler.toml' },
  },
})
const env = values.env
if (!env) {
  console.error('usage: npm run preflight -- --env <production|staging> [--config <wrangler.toml>] [--no-bundle]')
  process.exit(2)
}
const configPath = path.resolve(values.config)
const file = path.relative(process.cwd(), configPath) || configPath
/** `--config <file>` for the commands a fix names, unless it is the default. */
const configFlag = configPath === path.join(root, 'wrangler.toml') ? '' : ` --config ${file}`
const wranglerArgs = ['--env', env, '--config', configPath]

type Status = 'ok' | 'FAIL' | 'note' | 'skip'
interface Line {
  status: Status
  text: string
}
const section = () => {
  const lines: Line[] = []
  return {
    lines,
    ok: (text: string) => lines.push({ status: 'ok', text }),
    note: (text: string) => lines.push({ status: 'note', text }),
    skip: (text: string) => lines.push({ status: 'skip', text }),
    fail: (subject: string, problem: string, fix: string) =>
      lines.push({ status: 'FAIL', text: `${subject}: ${problem}. Fix: ${fix}` }),
  }
}

if (!existsSync(configPath)) {
  console.log(`FAIL ${file}: no such file. Fix: pass the wrangler configuration with --config <file>`)
  process.exit(1)
}
const rawConfig = experimental_readRawConfig({ config: configPath }).rawConfig
const envNames = Object.keys(rawConfig.env ?? {})
if (!envNames.includes(env)) {
  console.log(
    `FAIL ${file}: no [env.${env}]. Fix: choose one of ${envNames.join(', ') || '(none defined)'}, or add [env.${env}]`,
  )
  process.exit(1)
}
/** The fields preflight reads of wrangler's resolved configuration (wrangler ships no types for it). */
interface WranglerConfig {
  name: string
  main?: string
  topLevelName?: string
  configPath?: string
  vars?: Record<string, unknown>
  routes?: Array<string | { pattern: string; zone_name?: string }>
  triggers?: { crons?: string[] }
  secrets?: { required?: string[] }
  d1_databases?: Array<{ binding: string; database_name?: string; database_id?: string; migrations_dir?: string }>
  ratelimits?: Array<{ name: string; namespace_id: string }>
  queues?: {
    producers?: Array<{ binding: string; queue: string }>
    consumers?: Array<{
      queue: string
      dead_letter_queue?: string
      max_batch_size?: number
      max_concurrency?: number
    }>
  }
}
const read = (config: string, environment?: string): WranglerConfig =>
  unstable_readConfig({ config, ...(environment ? { env: environment } : {}) }, { hideWarnings: true })
/** wrangler's reading of one environment; a configuration it refuses ends preflight here, with its reasons. */
function readOrExit(config: string, environment?: string): WranglerConfig {
  try {
    return read(config, environment)
  } catch (error) {
    const where = `${path.relative(process.cwd(), config)}${environment ? ` [env.${environment}]` : ' (top level)'}`
    const reasons = String((error as Error).message)
      .split('\n')
      .map((line) => line.trim().replace(/^- /, ''))
      .filter((line) => line && !line.startsWith('Processing '))
    console.log(`FAIL ${where}: wrangler refuses it: ${reasons.join(' ')}. Fix: correct what wrangler names`)
    console.log(`preflight failed: wrangler cannot read ${where}; nothing was deployed`)
    process.exit(1)
  }
}
const config = readOrExit(configPath, env)
/** Which Worker the environment deploys, by its entry (src/sign-in-worker.ts or src/admin-worker.ts). */
const role = /admin-worker\.ts$/.test(config.main ?? '')
  ? 'admin'
  : /sign-in-worker\.ts$/.test(config.main ?? '')
    ? 'sign-in'
    : null
if (role === null) {
  console.log(
    `FAIL env.${env}.main = ${JSON.stringify(config.main ?? '')}: not a deployed Worker's entry. Fix: set main to src/sign-in-worker.ts (wrangler.toml) or src/admin-worker.ts (wrangler.admin.toml)`,
  )
  process.exit(1)
}
/** The secrets this Worker needs (src/secrets.ts). */
const requiredSecrets: readonly string[] = role === 'admin' ? SECRET_NAMES : SIGN_IN_SECRETS
/** What the Worker is built with: wrangler.toml's top level (the configuration npm test runs). */
const reference = readOrExit(path.join(root, 'wrangler.toml'))
/** The other environments, for what must not be shared (one that wrangler refuses is its own preflight's business). */
const others = envNames
  .filter((name) => name !== env)
  .flatMap((name) => {
    try {
      return [{ name, config: read(configPath, name) }]
    } catch {
      return []
    }
  })
const at = `env.${env}`
const tomlList = (items: readonly string[]) => `[${items.map((item) => JSON.stringify(item)).join(', ')}]`
const deployCommand =
  env === 'production' && !configFlag
    ? '`npm run deploy`'
    : env === 'staging' && !configFlag
      ? '`npm run deploy:staging`'
      : 'the deploy'

console.log(`preflight ${file} --env ${env}: ${role} Worker ${config.name}`)

// -- placeholders -------------------------------------------------------------
const placeholderLines = section()
const placeholders = findPlaceholders(readFileSync(configPath, 'utf8'), env)
for (const found of placeholders) {
  const isExampleName = !found.value.includes(MARK) && !found.markInComment
  placeholderLines.fail(
    `${found.key} = ${found.value} (${file}:${found.line})`,
    isExampleName ? 'still an example name (.example is reserved for examples)' : 'a placeholder',
    `replace it with ${found.hint ?? 'the real value'}${found.markInComment ? '. Then delete the PLACEHOLDER mark' : ''}`,
  )
}
if (placeholders.length === 0) placeholderLines.ok(`placeholders: none left in [env.${env}]`)
const placeholderKeys = new Set(placeholders.map((found) => found.key))
const isPlaceholder = (key: string) => placeholderKeys.has(key)

// -- vars ---------------------------------------------------------------------
const varLines = section()
const vars: Record<string, string> = {}
for (const [name, value] of Object.entries(config.vars ?? {})) {
  if (typeof value === 'string') vars[name] = value
  else varLines.fail(`${at}.vars.${name}`, 'not a string', `write it as a quoted string in ${file}`)
}
for (const name of SECRET_NAMES) {
  if (name in vars) {
    varLines.fail(
      `${at}.vars.${name}`,
      'a secret, written in plain text in the configuration',
      `delete it from [env.${env}.vars], set it with \`npx wrangler secret put ${name} --env ${env}${configFlag}\`, and replace the value (it was in ${file})`,
    )
  }
}
const configProblems = await loadConfigProblems()
const varProblems = configProblems(
  { ...vars, ...newDevSecrets() },
  { deployed: true, scope: role === 'admin' ? 'whole' : 'sign-in' },
).filter((problem) => {
  const name = /^[A-Z][A-Z0-9_]*/.exec(problem)?.[0] ?? ''
  return !isPlaceholder(`${at}.vars.${name}`)
})
for (const problem of varProblems) {
  const name = /^[A-Z][A-Z0-9_]*/.exec(problem)?.[0] ?? '?'
  varLines.fail(`${at}.vars.${name}`, problem, `correct [env.${env}.vars] ${name} in ${file}`)
}
if (varLines.lines.length === 0) {
  varLines.ok(
    `vars: ${Object.keys(vars).length} in [env.${env}.vars], valid by src/config.ts${placeholders.length > 0 ? ' (placeholders aside)' : ''}`,
  )
}

// -- bindings -----------------------------------------------------------------
const bindingLines = section()
type Bindings = Record<string, { type: string } & Record<string, unknown>>
const VAR_TYPES = new Set(['plain_text', 'json', 'secret_text'])
const bindingsOf = (c: WranglerConfig): Bindings =>
  Object.fromEntries(
    Object.entries((unstable_convertConfigBindingsToStartWorkerBindings(c) ?? {}) as Bindings).filter(
      ([, binding]) => !VAR_TYPES.has(binding.type),
    ),
  )
const wanted = bindingsOf(reference)
const have = bindingsOf(config)
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** The D1 databases whose migrations can be asked for: binding -> database. */
const remoteDatabases: Array<{ binding: string; name: string }> = []
/**
 * The sign-in Worker's own Durable Objects: the admin Worker never calls them and must not bind them, since
 * Cloudflare refuses a binding to a class its script does not implement yet (code 10061), and the admin
 * Worker deploys first.
 */
const SIGN_IN_ONLY = new Set(['SIGNIN_FLOWS'])
/**
 * The admin Worker's own: the queue of scheduled syncs, which its cron sends and its consumer reads
 * (src/sync/fleet-queue.ts). The sign-in Worker has no cron: bound there, it is a second producer nobody planned.
 */
const ADMIN_ONLY = new Set(['SYNC_JOBS'])
for (const [name, binding] of Object.entries(wanted)) {
  const mine = have[name]
  if (role === 'sign-in' && ADMIN_ONLY.has(name)) {
    if (mine) {
      bindingLines.fail(
        `${at}: binding ${name}`,
        "the admin Worker's own queue of scheduled syncs, bound by the sign-in Worker, which has no cron to send to it",
        `remove the [[env.${env}.queues.producers]] binding ${name} from ${file} (wrangler.admin.toml binds it)`,
      )
    }
    continue
  }
  if (role === 'admin' && SIGN_IN_ONLY.has(name)) {
    if (mine) {
      bindingLines.fail(
        `${at}: binding ${name}`,
        "the sign-in Worker's own Durable Object, bound by the admin Worker: the first deploy (admin first) fails, since the class does not exist yet",
        `remove [[env.${env}.durable_objects.bindings]] ${name} from ${file}`,
      )
    }
    continue
  }
  if (!mine) {
    bindingLines.fail(
      `${at}: binding ${name}`,
      `missing (the top level declares a ${binding.type} binding ${name}; environments inherit no binding)`,
      `repeat the top level's declaration of ${name} under [env.${env}] in ${file}`,
    )
    continue
  }
  if (mine.type !== binding.type) {
    bindingLines.fail(
      `${at}: binding ${name}`,
      `a ${mine.type} binding where the Worker needs ${binding.type}`,
      `declare ${name} as the top level does`,
    )
    continue
  }
  if (binding.type === 'd1') {
    const index = (config.d1_databases ?? []).findIndex((database) => database.binding === name)
    const key = `${at}.d1_databases[${index}].database_id`
    const id = typeof mine.database_id === 'string' ? mine.database_id : ''
    if (!id) {
      bindingLines.fail(key, 'not set', `set it to the id \`npx wrangler d1 create <name>\` prints`)
    } else if (!isPlaceholder(key)) {
      if (!UUID.test(id)) {
        bindingLines.fail(
          `${key} = "${id}"`,
          'not a D1 database id (a UUID)',
          'set the id `npx wrangler d1 list` shows',
        )
      } else {
        remoteDatabases.push({ binding: name, name: String(mine.database_name ?? id) })
      }
      const sharedWith = others.find((other) => other.config.d1_databases?.some((d) => d.database_id === id))
      if (sharedWith) {
        bindingLines.fail(
          key,
          `the same D1 database as [env.${sharedWith.name}]`,
          'give each environment its own database (`npx wrangler d1 create`)',
        )
      }
    }
    const migrationsOf = (c: WranglerConfig, binding: string) => {
      const database = c.d1_databases?.find((d) => d.binding === binding)
      return path.resolve(path.dirname(c.configPath ?? root), database?.migrations_dir ?? 'migrations')
    }
    if (migrationsOf(config, name) !== migrationsOf(reference, name)) {
      bindingLines.fail(
        `${at}.d1_databases[${index}].migrations_dir`,
        `${path.relative(root, migrationsOf(config, name))} is not the code's ${path.relative(root, migrationsOf(reference, name))}`,
        `point it at ${path.relative(path.dirname(configPath), migrationsOf(reference, name))}`,
      )
    }
  }
  if (binding.type === 'durable_object_namespace' && mine.class_name !== binding.class_name) {
    bindingLines.fail(
      `${at}: Durable Object ${name}`,
      `class ${String(mine.class_name)}, the Worker exports ${String(binding.class_name)}`,
      `set class_name = "${String(binding.class_name)}"`,
    )
  }
  if (binding.type === 'ratelimit') {
    const sharedWith = others.find((other) =>
      other.config.ratelimits?.some((limit) => limit.namespace_id === mine.namespace_id),
    )
    if (sharedWith) {
      bindingLines.fail(
        `${at}: rate limit ${name} (namespace_id ${String(mine.namespace_id)})`,
        `counts together with [env.${sharedWith.name}], which uses the same namespace_id`,
        'give it a namespace_id no other environment uses',
      )
    }
  }
}
// A queue the top level consumes must be consumed in the environment too (its producer's queue), with a dead
// letter queue where the top level has one: else rows pile up unwritten, or a poisoned message vanishes.
for (const producer of reference.queues?.producers ?? []) {
  const consumed = reference.queues?.consumers?.find((consumer) => consumer.queue === producer.queue)
  const queue = config.queues?.producers?.find((mine) => mine.binding === producer.binding)?.queue
  if (!consumed || !queue) continue
  const consumer = config.queues?.consumers?.find((mine) => mine.queue === queue)
  if (role === 'sign-in') {
    // A queue has one consumer: the admin Worker's (wrangler.admin.toml), which checks the rest.
    if (consumer) {
      bindingLines.fail(
        `${at}: queue ${queue}`,
        'consumed by the sign-in Worker, which has no queue handler (the admin Worker consumes it)',
        `remove [[env.${env}.queues.consumers]] for ${queue} from ${file}; wrangler.admin.toml consumes it`,
      )
    }
  } else if (!consumer) {
    bindingLines.fail(
      `${at}: queue ${queue} (binding ${producer.binding})`,
      'nothing consumes it: the Worker sends to it, and no message would ever be written',
      `add [[env.${env}.queues.consumers]] queue = "${queue}", as the top level consumes ${producer.queue}`,
    )
  } else if (consumed.dead_letter_queue && !consumer.dead_letter_queue) {
    bindingLines.fail(
      `${at}: queue ${queue}`,
      'its consumer has no dead_letter_queue: a message D1 keeps refusing would be dropped after max_retries',
      `set dead_letter_queue = "${queue}-dlq" in its [[env.${env}.queues.consumers]] (and \`npx wrangler queues create ${queue}-dlq\`)`,
    )
  }
  const sharedWith = others.find((other) => other.config.queues?.producers?.some((theirs) => theirs.queue === queue))
  if (sharedWith) {
    bindingLines.fail(
      `${at}: queue ${queue} (binding ${producer.binding})`,
      `the same queue as [env.${sharedWith.name}]: one environment's consumer would write the other's messages`,
      'give each environment its own queue (and dead letter queue)',
    )
  }
}
// The sync queue: under a name the admin Worker's queue handler reads as sync jobs (else its messages would
// reach the sign-in audit's consumer), consumed as the planner counts on (src/sync/fleet.ts FLEET).
const syncQueue = role === 'admin' ? config.queues?.producers?.find((p) => p.binding === 'SYNC_JOBS')?.queue : undefined
if (syncQueue && !SYNC_QUEUES.includes(syncQueue)) {
  bindingLines.fail(
    `${at}: queue ${syncQueue} (binding SYNC_JOBS)`,
    "not a name the admin Worker reads as sync jobs: its messages would go to the sign-in audit's consumer",
    `name it ${SYNC_QUEUES.map((name) => `"${name}"`).join(' or ')}, or add its name to SYNC_QUEUES in src/sync/fleet.ts`,
  )
}
const syncConsumer = syncQueue ? config.queues?.consumers?.find((mine) => mine.queue === syncQueue) : undefined
if (
  syncConsumer &&
  (syncConsumer.max_batch_size !== FLEET.batchSize || syncConsumer.max_concurrency !== FLEET.concurrency)
) {
  bindingLines.fail(
    `${at}: queue ${syncQueue}`,
    `its consumer takes max_batch_size = ${syncConsumer.max_batch_size ?? '(default 10)'}, max_concurrency = ${syncConsumer.max_concurrency ?? '(unbounded)'}; the sync planner counts on ${FLEET.batchSize} and ${FLEET.concurrency} (src/sync/fleet.ts FLEET)`,
    `set max_batch_size = ${FLEET.batchSize} and max_concurrency = ${FLEET.concurrency} in its [[env.${env}.queues.consumers]], or change FLEET with them`,
  )
}
const crons = config.triggers?.crons ?? []
const missingCrons = role === 'admin' ? (reference.triggers?.crons ?? []).filter((cron) => !crons.includes(cron)) : []
if (role === 'sign-in' && crons.length > 0) {
  bindingLines.fail(
    `${at}.triggers.crons`,
    `${crons.map((cron) => `"${cron}"`).join(', ')} on the sign-in Worker, which has no scheduled handler (the admin Worker runs the jobs)`,
    `set [env.${env}.triggers] crons = [] in ${file}`,
  )
}
if (missingCrons.length > 0) {
  bindingLines.fail(
    `${at}.triggers.crons`,
    `lacks ${missingCrons.map((cron) => `"${cron}"`).join(', ')}: the scheduled jobs (cleanup, syncs, hostname refresh) would never run`,
    `add [env.${env}.triggers] crons = ${tomlList(reference.triggers?.crons ?? [])} to ${file}`,
  )
}
const declaredSecrets = config.secrets?.required ?? []
const undeclared = requiredSecrets.filter((name) => !declaredSecrets.includes(name))
if (undeclared.length > 0) {
  bindingLines.fail(
    `${at}.secrets.required`,
    `lacks ${undeclared.join(', ')} (src/secrets.ts), so wrangler deploy would not refuse to deploy without them`,
    `add [env.${env}.secrets] required = ${tomlList(requiredSecrets)} to ${file}`,
  )
}
const routes = (config.routes ?? []).map((route) =>
  typeof route === 'string' ? { pattern: route } : { pattern: route.pattern, zone: route.zone_name },
)
const primaryHost = vars.PRIMARY_HOST
/** A route serves a host its pattern matches, on its own zone (when the route names one). */
const serves = (route: { pattern: string; zone?: string }, host: string) => {
  const hostPattern = route.pattern.replace(/^https?:\/\//, '').split('/')[0] ?? ''
  const regex = new RegExp(`^${hostPattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
  return regex.test(host) && (!route.zone || host === route.zone || host.endsWith(`.${route.zone}`))
}
/** The admin Worker's routes: the primary host's own surfaces (a route elsewhere would take sign-in traffic). */
const ADMIN_PATHS = ['/admin*', '/api/*', '/connect/*', '/scim/*']
if (role === 'admin') {
  const wantedRoutes = primaryHost ? ADMIN_PATHS.map((p) => `${primaryHost}${p}`) : []
  for (const route of routes) {
    if (primaryHost && !isPlaceholder(`${at}.vars.PRIMARY_HOST`) && !wantedRoutes.includes(route.pattern)) {
      bindingLines.fail(
        `${at}.routes: "${route.pattern}"`,
        `not one of the primary host's admin surfaces: the admin Worker would take requests meant for sign-in`,
        `route only ${wantedRoutes.map((r) => `"${r}"`).join(', ')}`,
      )
    }
  }
  // The console, the API and SCIM (Entra's provisioning would meet the sign-in Worker's 404) must be routed.
  for (const pattern of wantedRoutes.filter((route) => !route.endsWith('/connect/*'))) {
    if (!isPlaceholder(`${at}.vars.PRIMARY_HOST`) && !routes.some((route) => route.pattern === pattern)) {
      bindingLines.fail(
        `${at}.routes`,
        `lacks "${pattern}": the sign-in Worker would answer it with a 404`,
        `add { pattern = "${pattern}", zone_name = "${vars.PROVIDER_ZONE ?? ''}" }`,
      )
    }
  }
  // The sign-in Worker of the same environment: one database, one configuration.
  const pairPath = path.resolve(values['sign-in-config'])
  let pair: WranglerConfig | null = null
  try {
    pair = read(pairPath, env)
  } catch {
    bindingLines.fail(
      `${at}: the sign-in Worker`,
      `${path.relative(process.cwd(), pairPath)} [env.${env}] cannot be read`,
      'pass its configuration with --sign-in-config <file>',
    )
  }
  if (pair) {
    const pairFile = path.relative(process.cwd(), pairPath)
    const ids = (c: WranglerConfig) =>
      (c.d1_databases ?? []).map((d) => `${d.binding}=${d.database_id ?? ''}`).join(', ')
    if (ids(pair) !== ids(config)) {
      bindingLines.fail(
        `${at}.d1_databases`,
        `${ids(config)}, the sign-in Worker (${pairFile}) has ${ids(pair)}: they must share one D1 database`,
        `copy the sign-in Worker's database_id`,
      )
    }
    for (const name of new Set([...Object.keys(vars), ...Object.keys(pair.vars ?? {})])) {
      if (vars[name] !== pair.vars?.[name]) {
        bindingLines.fail(
          `${at}.vars.${name}`,
          `${JSON.stringify(vars[name] ?? null)}, the sign-in Worker (${pairFile}) has ${JSON.stringify(pair.vars?.[name] ?? null)}`,
          'give both Workers the same vars',
        )
      }
    }
  }
} else if (routes.length === 0) {
  bindingLines.fail(
    `${at}.routes`,
    'none: the Worker would serve no host',
    `add the provider zone's wildcard route and the SaaS zone's catch-all route, as [env.production] has`,
  )
} else if (
  primaryHost &&
  !isPlaceholder(`${at}.vars.PRIMARY_HOST`) &&
  !routes.some((route) => serves(route, primaryHost))
) {
  bindingLines.fail(
    `${at}.routes`,
    `no route serves PRIMARY_HOST ${primaryHost}`,
    `add a route such as "*.${vars.PROVIDER_ZONE ?? primaryHost}/*" on the provider's zone`,
  )
}
const sameName = others.find((other) => other.config.name === config.name)
if (sameName) {
  bindingLines.fail(
    `${at}.name = "${config.name}"`,
    `the same Worker as [env.${sameName.name}]: deploying one replaces the other`,
    `give [env.${env}] a name of its own, e.g. "${config.topLevelName}-${env}"`,
  )
}
if (bindingLines.lines.length === 0) {
  const kinds = Object.entries(have)
    .map(([name, binding]) => `${name} (${binding.type})`)
    .join(', ')
  bindingLines.ok(
    `bindings: ${kinds}; crons ${crons.join(', ') || 'none'}; ${declaredSecrets.length} secrets required; ${routes.length} routes`,
  )
}

// -- remote: secrets, migrations, bundle (concurrently) ------------------------
async function checkSecrets(): Promise<Line[]> {
  const lines = section()
  const run = await runWrangler(['secret', 'list', '--format', 'json', ...wranglerArgs])
  let names: string[]
  let workerMissing = false
  if (run.code === 0) {
    try {
      names = (JSON.parse(run.stdout.slice(run.stdout.indexOf('['))) as Array<{ name: string }>).map(({ name }) => name)
    } catch {
      lines.fail(
        'secrets',
        `could not read wrangler's answer (${run.stdout.trim().slice(0, 200)})`,
        'run `npx wrangler secret list` to see it',
      )
      return lines.lines
    }
  } else if (/\[code: 10007\]|Worker ".*" .*not found/.test(run.output)) {
    names = []
    workerMissing = true
  } else {
    const { problem, fix } = cloudflareFailure(run.output)
    lines.fail('secrets', `could not list the secrets of Worker ${config.name}: ${problem}`, fix)
    return lines.lines
  }
  const missing = requiredSecrets.filter((name) => !names.includes(name))
  for (const name of missing) {
    lines.fail(
      `secret ${name}`,
      `not set on Worker ${config.name}${workerMissing ? ' (the Worker does not exist yet)' : ''}`,
      `\`npx wrangler secret put ${name} --env ${env}${configFlag}\`${workerMissing && name === missing[0] ? ' (the first creates the Worker)' : ''}`,
    )
  }
  if (missing.length === 0) lines.ok(`secrets: all ${requiredSecrets.length} set on Worker ${config.name}`)
  return lines.lines
}

async function checkMigrations(): Promise<Line[]> {
  const lines = section()
  if (remoteDatabases.length === 0) {
    lines.skip('migrations: no D1 database id to ask about yet')
    return lines.lines
  }
  for (const { binding, name } of remoteDatabases) {
    const run = await runWrangler(['d1', 'migrations', 'list', binding, '--remote', ...wranglerArgs])
    if (run.code !== 0) {
      const { problem, fix } = cloudflareFailure(run.output)
      lines.fail(`migrations of D1 ${binding} (${name})`, `could not list the pending ones: ${problem}`, fix)
      continue
    }
    if (/No migrations to apply/.test(run.output)) {
      lines.ok(`migrations: D1 ${binding} (${name}) has every migration of this checkout`)
      continue
    }
    // wrangler's table: one "│ <name> │" row per pending migration, under a "Name" header.
    const pending = [...run.output.matchAll(/^│\s*(\S+)\s*│$/gm)].map((match) => match[1]!).filter((n) => n !== 'Name')
    if (pending.length === 0) {
      lines.fail(
        `migrations of D1 ${binding} (${name})`,
        `could not read wrangler's answer (${wranglerError(run.output)})`,
        `run \`npx wrangler d1 migrations list ${binding} --remote --env ${env}${configFlag}\` to see it`,
      )
      continue
    }
    for (const migration of pending) {
      lines.note(
        `migration ${migration} is not applied to D1 ${binding} (${name}) yet: ${deployCommand} applies it first`,
      )
    }
  }
  return lines.lines
}

async function checkBundle(): Promise<Line[]> {
  const lines = section()
  if (values['no-bundle']) {
    lines.skip('bundle: not built (--no-bundle)')
    return lines.lines
  }
  const outDir = mkdtempSync(path.join(tmpdir(), 'sso-gateway-preflight-'))
  try {
    const run = await runWrangler(['deploy', '--dry-run', '--outdir', outDir, ...wranglerArgs])
    if (run.code !== 0) {
      lines.fail(
        'bundle',
        `wrangler deploy --dry-run failed: ${wranglerError(run.output)}`,
        'fix the build error it names',
      )
    } else {
      const size = /Total Upload: (.+?) \/ gzip: (.+)$/m.exec(run.output)
      lines.ok(
        `bundle: ${size ? `${size[1]}, gzip ${size[2]!.trim()}` : 'built'} (wrangler deploy --dry-run; the Free plan allows 3 MiB gzip, Paid 10 MiB)`,
      )
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true })
  }
  return lines.lines
}

const remote = await Promise.all([checkSecrets(), checkMigrations(), checkBundle()])

const lines = [...placeholderLines.lines, ...varLines.lines, ...bindingLines.lines, ...remote.flat()]
for (const line of lines) console.log(`${line.status.padEnd(4)} ${line.text}`)
const problems = lines.filter((line) => line.status === 'FAIL').length
if (problems > 0) {
  console.log(
    `preflight failed: ${problems} problem${problems === 1 ? '' : 's'} in ${file} --env ${env}; nothing was deployed`,
  )
  process.exit(1)
}
console.log(`preflight passed: ${file} --env ${env} is ready to deploy`)
