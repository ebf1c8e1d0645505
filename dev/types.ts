/**
 * `npm run types`: regenerates worker-configuration.d.ts, the binding types
 * `wrangler types` derives from wrangler.toml (every environment), which
 * `src/env.check.ts` compares with `Env` at compile time. `--check` (part of
 * `npm run typecheck`) fails when the file is not what wrangler.toml gives.
 *
 * The flags live here only: no runtime types (@cloudflare/workers-types has
 * them), vars typed `string` (filling a placeholder changes no type), no main
 * module types, and an interface name of our own (`WranglerEnv`) so the global
 * `Env` is not shadowed. Secrets come from `[env.<name>.secrets] required`, not
 * from .dev.vars: the file is the same on every machine.
 */
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { stripVTControlCharacters } from 'node:util'

const root = path.resolve(import.meta.dirname, '..')
const FILE = 'worker-configuration.d.ts'
const FLAGS = [
  '--include-runtime=false',
  '--strict-vars=false',
  '--env-interface=WranglerEnv',
  '--include-main-module=false',
]
const check = process.argv.includes('--check')

try {
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'wrangler'),
    ['types', FILE, ...FLAGS, ...(check ? ['--check'] : [])],
    {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      stdio: 'pipe',
      encoding: 'utf8',
    },
  )
} catch (error) {
  const output = stripVTControlCharacters(
    `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`,
  )
  const reason = /\[ERROR\] (.+)/.exec(output)?.[1] ?? output.trim()
  if (!check) console.error(`wrangler types failed: ${reason}`)
  else if (/out of date/.test(reason))
    console.error(`${FILE} is out of date with wrangler.toml: run \`npm run types\` and commit the result.`)
  else console.error(`could not check ${FILE} (${reason}): run \`npm run types\` and commit the result.`)
  process.exit(1)
}
console.log(check ? `${FILE} is current with wrangler.toml` : `${FILE} regenerated from wrangler.toml`)
