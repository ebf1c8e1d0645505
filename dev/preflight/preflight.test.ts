/**
 * `npm run test:preflight` (part of `npm test`; node:test, since the vitest
 * suite runs inside workerd): `npm run preflight` on the real wrangler.toml,
 * which must fail naming every placeholder, and on the filled example
 * (example.wrangler.toml) against the local Cloudflare API stand-in: all set
 * passes; a pending migration is listed; a missing secret, a bad var, a
 * missing binding, a queue nothing consumes or a refused token fail, named.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import { type PreflightStandInOptions, startPreflightStandIn } from './stand-in.ts'

const root = path.resolve(import.meta.dirname, '..', '..')
const EXAMPLE = 'dev/preflight/example.wrangler.toml'
const ADMIN_EXAMPLE = 'dev/preflight/example.admin.wrangler.toml'

interface Result {
  code: number | null
  output: string
  /** The FAIL lines. */
  failures: string[]
}

/** Runs `npm run preflight`'s script with `env` for wrangler (and nothing of the caller's Cloudflare login). */
function preflight(args: string[], env: Record<string, string>): Promise<Result> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CLOUDFLARE_')))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'dev/preflight.ts', ...args], {
      cwd: root,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({ code, output, failures: output.split('\n').filter((line) => line.startsWith('FAIL')) }),
    )
  })
}

/** Preflight of the example against a stand-in set up by `options`. */
async function onExample(
  options: Partial<PreflightStandInOptions> = {},
  args: string[] = ['--no-bundle'],
  config = EXAMPLE,
): Promise<Result & { pending: string[] }> {
  const running = await startPreflightStandIn({ config: path.resolve(root, config), env: 'production', ...options })
  try {
    return {
      ...(await preflight(['--config', config, '--env', 'production', ...args], running.env)),
      pending: running.pending,
    }
  } finally {
    await running.close()
  }
}

/** Nothing listens on port 9: no request can reach Cloudflare, whatever login this machine has. */
const OFFLINE = { CLOUDFLARE_API_BASE_URL: 'http://127.0.0.1:9/client/v4' }

// Three at a time: each run starts wrangler two or three times, on a machine of two cores.
describe('npm run preflight', { concurrency: 3 }, () => {
  test('fails on the real wrangler.toml, naming every placeholder of production and of staging', async () => {
    const [production, staging] = await Promise.all([
      preflight(['--env', 'production', '--no-bundle'], OFFLINE),
      preflight(['--env', 'staging', '--no-bundle'], OFFLINE),
    ])
    for (const [env, result] of [
      ['production', production],
      ['staging', staging],
    ] as const) {
      assert.equal(result.code, 1, result.output)
      const keys = [
        'routes[0]',
        'routes[1]',
        'vars.PRIMARY_HOST',
        'vars.PROVIDER_ZONE',
        'vars.CLOUDFLARE_ZONE_ID',
        'vars.CUSTOM_HOSTNAME_CNAME_TARGET',
        'vars.ENTRA_CLIENT_ID',
        'vars.ENTRA_HOME_TENANT_ID',
        'd1_databases[0].database_id',
        ...(env === 'production' ? ['vars.PROVIDER_DISPLAY_NAME'] : []),
      ]
      for (const key of keys) {
        assert.ok(
          result.failures.some(
            (line) => line.startsWith(`FAIL env.${env}.${key} = `) && line.includes('. Fix: replace it with'),
          ),
          `${env}: ${key} is not named\n${result.output}`,
        )
      }
      assert.equal(result.failures.filter((line) => line.includes('a placeholder')).length, keys.length, result.output)
      // No var is reported twice: a placeholder's value is not also judged by src/config.ts.
      assert.ok(!result.output.includes('must be the id of the Cloudflare for SaaS zone'), result.output)
      // Wrangler could not ask Cloudflare: the check says so and fails, it does not pass.
      assert.match(
        result.output,
        /^FAIL secrets: could not list the secrets of Worker edge-sso-gateway(-staging)?: .*\. Fix: /m,
      )
      assert.match(
        result.output,
        /^preflight failed: \d+ problems in wrangler\.toml --env (production|staging); nothing was deployed$/m,
      )
    }
    assert.match(
      production.output,
      /\(wrangler\.toml:\d+\): a placeholder\. Fix: replace it with the id `npx wrangler d1 create sso-gateway` prints/,
    )
  })

  test('passes on the filled example when Cloudflare has every secret and migration, with the bundle', async () => {
    const result = await onExample({}, [])
    assert.equal(result.code, 0, result.output)
    assert.deepEqual(result.failures, [])
    for (const line of [
      'ok   placeholders: none left in [env.production]',
      'ok   vars: 13 in [env.production.vars], valid by src/config.ts',
      'ok   secrets: all 4 set on Worker edge-sso-gateway',
      'ok   migrations: D1 DB (sso-gateway) has every migration of this checkout',
      `preflight passed: ${EXAMPLE} --env production is ready to deploy`,
    ]) {
      assert.ok(result.output.includes(line), `${line}\n${result.output}`)
    }
    assert.match(result.output, /^ok {3}bundle: [\d.]+ KiB, gzip [\d.]+ KiB/m)
  })

  test('lists the migrations the remote D1 lacks, and still passes (the deploy applies them first)', async () => {
    const result = await onExample({ pendingMigrations: 2 })
    assert.equal(result.code, 0, result.output)
    assert.equal(result.pending.length, 2)
    for (const name of result.pending) {
      assert.ok(
        result.output.includes(
          `note migration ${name} is not applied to D1 DB (sso-gateway) yet: the deploy applies it first`,
        ),
        `${name}\n${result.output}`,
      )
    }
  })

  test('fails naming a secret that is not set, with the command that sets it', async () => {
    const result = await onExample({
      secrets: ['ENTRA_CLIENT_SECRET', 'FLOW_KEY', 'DATA_KEY'],
    })
    assert.equal(result.code, 1, result.output)
    assert.deepEqual(result.failures, [
      `FAIL secret SIGNING_KEYS: not set on Worker edge-sso-gateway. Fix: \`npx wrangler secret put SIGNING_KEYS --env production --config ${EXAMPLE}\``,
    ])
  })

  test('fails naming every secret when the Worker does not exist yet', async () => {
    const result = await onExample({ secrets: null })
    assert.equal(result.code, 1, result.output)
    assert.equal(result.failures.length, 4, result.output)
    assert.match(
      result.failures[0]!,
      /^FAIL secret ENTRA_CLIENT_SECRET: not set on Worker edge-sso-gateway \(the Worker does not exist yet\)\. Fix: .*\(the first creates the Worker\)$/,
    )
  })

  test('fails, and says why, when Cloudflare refuses the token: it never passes unasked', async () => {
    const running = await startPreflightStandIn({ config: path.join(root, EXAMPLE), env: 'production' })
    try {
      const result = await preflight(['--config', EXAMPLE, '--env', 'production', '--no-bundle'], {
        ...running.env,
        CLOUDFLARE_API_TOKEN: 'a-revoked-token',
      })
      assert.equal(result.code, 1, result.output)
      assert.equal(result.failures.length, 2, result.output)
      assert.match(
        result.failures[0]!,
        /^FAIL secrets: could not list the secrets of Worker edge-sso-gateway: Cloudflare refused the credentials/,
      )
      assert.match(
        result.failures[1]!,
        /^FAIL migrations of D1 DB \(sso-gateway\): could not list the pending ones: Cloudflare refused/,
      )
    } finally {
      await running.close()
    }
  })

  test('passes on the filled admin example, which agrees with the sign-in example', async () => {
    const result = await onExample({}, ['--no-bundle', '--sign-in-config', EXAMPLE], ADMIN_EXAMPLE)
    assert.equal(result.code, 0, result.output)
    assert.ok(result.output.includes('ok   secrets: all 6 set on Worker edge-sso-gateway-admin'), result.output)
  })

  test('fails an admin Worker routed beyond the primary host, without its SCIM route, on another database, without its cron, binding the flow objects', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sso-gateway-preflight-test-'))
    const broken = path.join(dir, 'wrangler.admin.toml')
    const text = readFileSync(path.join(root, ADMIN_EXAMPLE), 'utf8')
      .replace('"../../src/admin-worker.ts"', JSON.stringify(path.join(root, 'src', 'admin-worker.ts')))
      .replace('"../../migrations"', JSON.stringify(path.join(root, 'migrations')))
      .replace('"login.example.net/api/*"', '"*.example.net/*"')
      .replace('  { pattern = "login.example.net/scim/*", zone_name = "example.net" },\n', '')
      .replace('3fd108e5-15fd-4f4a-ab8a-5b31d8b9b5e1', '3fd108e5-15fd-4f4a-ab8a-5b31d8b9b5e2')
      .replace('crons = ["*/5 * * * *"]', 'crons = []')
      .replace('"ADMIN_API_KEY", ', '')
    // The sign-in Worker's own flow objects, bound by the admin Worker: its first deploy would fail.
    writeFileSync(
      broken,
      `${text}\n[[env.production.durable_objects.bindings]]\nname = "SIGNIN_FLOWS"\nclass_name = "SignInFlow"\nscript_name = "edge-sso-gateway"\n`,
    )
    try {
      const result = await onExample({}, ['--no-bundle', '--sign-in-config', EXAMPLE], broken)
      assert.equal(result.code, 1, result.output)
      const expected = [
        /^FAIL env\.production\.routes: "\*\.example\.net\/\*": not one of the primary host's admin surfaces/,
        /^FAIL env\.production\.routes: lacks "login\.example\.net\/api\/\*"/,
        /^FAIL env\.production\.routes: lacks "login\.example\.net\/scim\/\*"/,
        /^FAIL env\.production\.d1_databases: .*they must share one D1 database/,
        /^FAIL env\.production\.triggers\.crons: lacks "\*\/5 \* \* \* \*"/,
        /^FAIL env\.production\.secrets\.required: lacks ADMIN_API_KEY/,
        /^FAIL env\.production: binding SIGNIN_FLOWS: the sign-in Worker's own Durable Object/,
      ]
      assert.equal(result.failures.length, expected.length, result.output)
      for (const pattern of expected)
        assert.ok(
          result.failures.some((line) => pattern.test(line)),
          `${pattern}\n${result.output}`,
        )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('fails naming a queue nothing consumes, a consumer without a dead letter queue, a consumer on the sign-in Worker, SYNC_JOBS on the wrong Worker', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sso-gateway-preflight-test-'))
    const absolute = (text: string) =>
      text
        .replace('"../../src/admin-worker.ts"', JSON.stringify(path.join(root, 'src', 'admin-worker.ts')))
        .replace('"../../src/sign-in-worker.ts"', JSON.stringify(path.join(root, 'src', 'sign-in-worker.ts')))
        .replace('"../../migrations"', JSON.stringify(path.join(root, 'migrations')))
    const adminText = absolute(readFileSync(path.join(root, ADMIN_EXAMPLE), 'utf8'))
    const consumerBlock = adminText.match(/\[\[env\.production\.queues\.consumers\]\]\n(?:[^\n]+\n)+/)![0]
    const unconsumed = path.join(dir, 'unconsumed.toml')
    writeFileSync(unconsumed, adminText.replace(consumerBlock, ''))
    const noDeadLetters = path.join(dir, 'no-dead-letters.toml')
    writeFileSync(noDeadLetters, adminText.replace(/dead_letter_queue = [^\n]+\n/, ''))
    const signInConsumes = path.join(dir, 'sign-in-consumes.toml')
    writeFileSync(signInConsumes, `${absolute(readFileSync(path.join(root, EXAMPLE), 'utf8'))}\n${consumerBlock}`)
    // The admin Worker's queue of scheduled syncs: bound by the sign-in Worker, or missing from the admin Worker.
    const syncProducer = '[[env.production.queues.producers]]\nbinding = "SYNC_JOBS"\nqueue = "sso-gateway-sync"\n'
    assert.ok(adminText.includes(syncProducer))
    const signInSyncs = path.join(dir, 'sign-in-syncs.toml')
    writeFileSync(signInSyncs, `${absolute(readFileSync(path.join(root, EXAMPLE), 'utf8'))}\n${syncProducer}`)
    const adminWithoutSyncs = path.join(dir, 'admin-without-syncs.toml')
    writeFileSync(adminWithoutSyncs, adminText.replace(syncProducer, ''))
    // Renamed (the handler would give its messages to the audit's consumer), and consumed in bigger batches.
    const adminRenamedSyncs = path.join(dir, 'admin-renamed-syncs.toml')
    writeFileSync(
      adminRenamedSyncs,
      adminText
        .replaceAll('"sso-gateway-sync"', '"sso-gateway-sync-eu"')
        .replace('max_batch_size = 5', 'max_batch_size = 50'),
    )
    try {
      const adminArgs = ['--no-bundle', '--sign-in-config', EXAMPLE]
      const [first, second, third, fourth, fifth, sixth] = [
        await onExample({}, adminArgs, unconsumed),
        await onExample({}, adminArgs, noDeadLetters),
        await onExample({}, ['--no-bundle'], signInConsumes),
        await onExample({}, ['--no-bundle'], signInSyncs),
        await onExample({}, adminArgs, adminWithoutSyncs),
        await onExample({}, adminArgs, adminRenamedSyncs),
      ]
      assert.equal(sixth.code, 1, sixth.output)
      assert.ok(
        sixth.failures.some((line) =>
          /^FAIL env\.production: queue sso-gateway-sync-eu \(binding SYNC_JOBS\): not a name the admin Worker reads as sync jobs/.test(
            line,
          ),
        ),
        sixth.output,
      )
      assert.ok(
        sixth.failures.some((line) =>
          /^FAIL env\.production: queue sso-gateway-sync-eu: its consumer takes max_batch_size = 50, max_concurrency = 10; the sync planner counts on 5 and 10/.test(
            line,
          ),
        ),
        sixth.output,
      )
      assert.equal(fourth.code, 1, fourth.output)
      assert.equal(fourth.failures.length, 1, fourth.output)
      assert.match(
        fourth.failures[0]!,
        /^FAIL env\.production: binding SYNC_JOBS: the admin Worker's own queue of scheduled syncs, bound by the sign-in Worker/,
      )
      assert.equal(fifth.code, 1, fifth.output)
      assert.ok(
        fifth.failures.some((line) => /^FAIL env\.production: binding SYNC_JOBS: missing/.test(line)),
        fifth.output,
      )
      assert.equal(first.code, 1, first.output)
      assert.equal(first.failures.length, 1, first.output)
      assert.match(
        first.failures[0]!,
        /^FAIL env\.production: queue sso-gateway-sign-in-audit \(binding SIGNIN_AUDIT\): nothing consumes it.*Fix: add \[\[env\.production\.queues\.consumers\]\]/,
      )
      assert.equal(second.code, 1, second.output)
      assert.equal(second.failures.length, 1, second.output)
      assert.match(
        second.failures[0]!,
        /^FAIL env\.production: queue sso-gateway-sign-in-audit: its consumer has no dead_letter_queue/,
      )
      assert.equal(third.code, 1, third.output)
      assert.equal(third.failures.length, 1, third.output)
      assert.match(
        third.failures[0]!,
        /^FAIL env\.production: queue sso-gateway-sign-in-audit: consumed by the sign-in Worker/,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('fails naming a bad var, a secret written as a var (and not required), a missing binding, a cron on the sign-in Worker', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sso-gateway-preflight-test-'))
    const broken = path.join(dir, 'wrangler.toml')
    const text = readFileSync(path.join(root, EXAMPLE), 'utf8')
      .replace('"../../src/sign-in-worker.ts"', JSON.stringify(path.join(root, 'src', 'sign-in-worker.ts')))
      .replace('"../../migrations"', JSON.stringify(path.join(root, 'migrations')))
      .replace(
        'PRIMARY_HOST = "login.example.net"',
        'PRIMARY_HOST = "login.example.org"\nFLOW_KEY = "committed-by-mistake"',
      )
      .replace(/\[\[env\.production\.ratelimits\]\]\nname = "ADMIN_RATE_LIMIT"\n[^\n]*\n[^\n]*\n/, '')
      .replace('crons = []', 'crons = ["*/5 * * * *"]')
      .replace('"FLOW_KEY", ', '')
    writeFileSync(broken, text)
    try {
      const result = await onExample({}, ['--no-bundle'], broken)
      assert.equal(result.code, 1, result.output)
      const expected = [
        /^FAIL env\.production\.vars\.FLOW_KEY: a secret, written in plain text in the configuration\. Fix: delete it from \[env\.production\.vars\]/,
        /^FAIL env\.production\.vars\.PRIMARY_HOST: PRIMARY_HOST "login\.example\.org" must be inside PROVIDER_ZONE "example\.net"/,
        /^FAIL env\.production: binding ADMIN_RATE_LIMIT: missing .*environments inherit no binding/,
        /^FAIL env\.production\.triggers\.crons: "\*\/5 \* \* \* \*" on the sign-in Worker, which has no scheduled handler/,
        /^FAIL env\.production\.routes: no route serves PRIMARY_HOST login\.example\.org/,
        /^FAIL env\.production\.secrets\.required: lacks FLOW_KEY \(src\/secrets\.ts\)/,
      ]
      assert.equal(result.failures.length, expected.length, result.output)
      for (const pattern of expected)
        assert.ok(
          result.failures.some((line) => pattern.test(line)),
          `${pattern}\n${result.output}`,
        )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
