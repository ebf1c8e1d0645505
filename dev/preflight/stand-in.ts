/**
 * The local Cloudflare API stand-in (dev/cloudflare) answering as Cloudflare
 * would for one deploy environment: its Worker exists with every secret of
 * src/secrets.ts set, and each of its D1 databases has every migration of this
 * checkout applied (tests take some away). wrangler reaches it through
 * CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID.
 *
 * As a script it wraps a command, which CI uses to prove preflight on a filled
 * configuration offline:
 *
 *   node dev/preflight/stand-in.ts npm run preflight -- --config dev/preflight/example.wrangler.toml --env production
 *
 * (the `--config` and `--env` of the command say what to set up).
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { readD1Migrations } from '@cloudflare/vitest-plugin'
import { unstable_readConfig } from 'wrangler'
import { SECRET_NAMES } from '../../src/secrets.ts'
import { type CloudflareStandIn, startCloudflareStandIn } from '../cloudflare/server.ts'

export const STAND_IN_ACCOUNT = '9a7806061c88ada191ed06f989cc3dac'
export const STAND_IN_TOKEN = 'preflight-stand-in-token'

export interface PreflightStandInOptions {
  /** The wrangler configuration file and environment to answer for. */
  config: string
  env: string
  /** The secrets set on the Worker (default: all); null: the Worker does not exist. */
  secrets?: readonly string[] | null
  /** How many of the newest migrations are not applied yet (default 0). */
  pendingMigrations?: number
}

export interface PreflightStandIn {
  standIn: CloudflareStandIn
  /** Environment variables pointing wrangler at the stand-in. */
  env: Record<string, string>
  /** The migrations left pending, oldest first. */
  pending: string[]
  close(): Promise<void>
}

export async function startPreflightStandIn(options: PreflightStandInOptions): Promise<PreflightStandIn> {
  const config = unstable_readConfig({ config: options.config, env: options.env }, { hideWarnings: true }) as {
    name: string
    configPath: string
    d1_databases?: Array<{ database_id?: string; migrations_dir?: string }>
  }
  const standIn = await startCloudflareStandIn({
    zoneId: 'preflight-unused-zone',
    apiToken: STAND_IN_TOKEN,
    accountId: STAND_IN_ACCOUNT,
  })
  if (options.secrets !== null) standIn.setSecrets(config.name, options.secrets ?? SECRET_NAMES)
  let pending: string[] = []
  for (const database of config.d1_databases ?? []) {
    if (!database.database_id) continue
    await standIn.createD1Database(database.database_id)
    const dir = path.resolve(path.dirname(config.configPath), database.migrations_dir ?? 'migrations')
    const names = (await readD1Migrations(dir)).map((migration) => migration.name)
    const applied = names.length - (options.pendingMigrations ?? 0)
    standIn.markMigrationsApplied(database.database_id, names.slice(0, applied))
    pending = names.slice(applied)
  }
  return {
    standIn,
    env: {
      CLOUDFLARE_API_BASE_URL: standIn.base,
      CLOUDFLARE_API_TOKEN: STAND_IN_TOKEN,
      CLOUDFLARE_ACCOUNT_ID: STAND_IN_ACCOUNT,
    },
    pending,
    close: () => standIn.close(),
  }
}

if (process.argv[1] === import.meta.filename) {
  const command = process.argv.slice(2)
  const option = (name: string) => {
    const at = command.indexOf(`--${name}`)
    if (at !== -1) return command[at + 1]
    return command.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
  }
  const env = option('env')
  if (command.length === 0 || !env) {
    console.error('usage: node dev/preflight/stand-in.ts <command with --env <env> [--config <file>]>')
    process.exit(2)
  }
  const running = await startPreflightStandIn({ config: path.resolve(option('config') ?? 'wrangler.toml'), env })
  console.log(`Cloudflare API stand-in on ${running.standIn.base}: Worker secrets set, D1 migrations applied`)
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...running.env } })
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)))
  await running.close()
  process.exit(code)
}
