import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { startCloudflareStandIn } from './dev/cloudflare/server.ts'
import { startDnsStandIn } from './dev/dns/server.ts'
import { startEntraStandIn } from './dev/entra/server.ts'
import { startGraphDirectoryStandIn } from './dev/graph/directory.ts'
import {
  TEST_BINDINGS,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_CLOUDFLARE_TOKEN,
  TEST_CLOUDFLARE_ZONE,
  TEST_CNAME_TARGET,
  TEST_HOME_TENANT,
} from './test/bindings.ts'

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
  // The Entra ID stand-in runs in this (Node) process for the whole run; tests inside
  // workerd reach it over loopback, and drive its misbehaviour per tenant or per flow.
  const entra = await startEntraStandIn({
    apps: [
      {
        clientId: TEST_CLIENT_ID,
        secret: TEST_CLIENT_SECRET,
        redirectUris: ['https://login.localhost/sso/callback', 'https://login.localhost/connect/callback'],
        grants: { [TEST_HOME_TENANT]: ['Application.ReadWrite.OwnedBy'] },
      },
    ],
  })
  entra.unref()
  const graph = await startGraphDirectoryStandIn(entra)
  graph.unref()
  // DNS over HTTPS: what the diagnosis reads, and what the Cloudflare stand-in validates custom hostnames from.
  const dns = await startDnsStandIn()
  dns.unref()
  const cloudflare = await startCloudflareStandIn({
    zoneId: TEST_CLOUDFLARE_ZONE,
    apiToken: TEST_CLOUDFLARE_TOKEN,
    dns,
    cnameTarget: TEST_CNAME_TARGET,
  })
  cloudflare.unref()
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            ...TEST_BINDINGS,
            ENTRA_AUTHORITY: entra.base,
            GRAPH_BASE: graph.base,
            CLOUDFLARE_API_BASE: cloudflare.base,
            DOH_URL: dns.base,
            TEST_MIGRATIONS: migrations,
          },
          // Tests send every request from one (absent) client IP: the real limits would trip
          // across the suite. The rate-limit tests pass TIGHT_RATE_LIMIT in their place.
          ratelimits: {
            SIGNIN_RATE_LIMIT: { namespace_id: '4101', simple: { limit: 1_000_000, period: 60 } },
            ADMIN_RATE_LIMIT: { namespace_id: '4102', simple: { limit: 1_000_000, period: 60 } },
            TIGHT_RATE_LIMIT: { namespace_id: '4199', simple: { limit: 3, period: 60 } },
          },
        },
      }),
    ],
    test: {
      include: ['test/**/*.test.{ts,tsx}'],
      setupFiles: ['./test/setup.ts'],
      // The gateway logs JSON lines on purpose; show them only for tests that fail.
      silent: 'passed-only' as const,
    },
  }
})
