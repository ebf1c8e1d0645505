/** Secrets and vars the tests run with (wrangler.toml's local vars supply the rest). */
export const TEST_ADMIN_KEY = 'test-ops-key-0123456789abcdefghijklmnopqrstuvwxyz'
export const TEST_CLIENT_ID = '00000000-0000-4000-8000-00000000c11e'
export const TEST_CLIENT_SECRET = 'test-client-secret-value'
/** 32 bytes of zeros would do; a fixed random value reads less like a bug. */
export const TEST_FLOW_KEY = 'Xq2d7lY1c9n0k3v8J6mB4tR5wE2uI7oP1aS9dF3gH6k'

/** Where the provider's test app is registered: Graph manages its redirect URIs there. */
export const TEST_HOME_TENANT = '0e0e0e0e-0000-4000-8000-00000000e0e0'
export const TEST_CLOUDFLARE_ZONE = 'test-saas-zone'
export const TEST_CLOUDFLARE_TOKEN = 'test-cloudflare-api-token'
/** What custom domains must be a CNAME to (CUSTOM_HOSTNAME_CNAME_TARGET). */
export const TEST_CNAME_TARGET = 'customers.localhost'

/**
 * Every secret is set here, so a developer's .dev.vars (which the test pool
 * also reads) can never change what the tests see.
 */
/** Two fixed P-256 keys: the first signs, the second is published (rotation). Test-only, never used elsewhere. */
export const TEST_SIGNING_KEYS = [
  {
    kty: 'EC',
    x: 'iOUO6cMBPWRW-lTFLhRckVSwx-vtfFbiA1gkiGzQyuY',
    y: 'rqwy9-bf4bGYF2C9aNOv45HPq7S8ZHnVtAGZaxilQOU',
    crv: 'P-256',
    d: 'SWSzWVQFhOmByLc-lR2TOzX_SHzNqmm-0rR4pRaO8p0',
    kid: 'test-key-1',
  },
  {
    kty: 'EC',
    x: 'Z8eHPFIyLk-W3zblUbe4OmErVM90bqDsJhe71Ea71-Q',
    y: 'z-EtV3R9__TnWD5ow5WSRm4td8CO9CRj8S70mdUTya0',
    crv: 'P-256',
    d: 'zZRvBfsazLCW7rZh-QE_lNKhii9TuoFjo6JhHWilN4A',
    kid: 'test-key-2',
  },
]

/** The console's ops admin (OPS_ADMINS): an Entra user the console tests register with the stand-in. */
export const TEST_OPS_ADMIN = {
  tid: '0e0e0e0e-0000-4000-8000-0000000000a1',
  oid: '0e0e0e0e-0000-4000-8000-0000000000a2',
} as const

export const TEST_BINDINGS = {
  SIGNING_KEYS: JSON.stringify(TEST_SIGNING_KEYS),
  ENTRA_TIMEOUT_MS: '1500',
  // Tests speak https to the gateway, as production browsers do (wrangler.toml's local vars say http:8787).
  PUBLIC_SCHEME: 'https',
  PUBLIC_PORT: '',
  // Tests run with CUSTOM_HOSTNAMES=local; the Cloudflare tests switch to the stand-in explicitly.
  CUSTOM_HOSTNAMES: 'local',
  CLOUDFLARE_ZONE_ID: TEST_CLOUDFLARE_ZONE,
  CLOUDFLARE_API_TOKEN: TEST_CLOUDFLARE_TOKEN,
  CUSTOM_HOSTNAME_CNAME_TARGET: TEST_CNAME_TARGET,
  ADMIN_API_KEY: TEST_ADMIN_KEY,
  OPS_ADMINS: `${TEST_OPS_ADMIN.tid}:${TEST_OPS_ADMIN.oid}`,
  ENTRA_CLIENT_ID: TEST_CLIENT_ID,
  ENTRA_HOME_TENANT_ID: TEST_HOME_TENANT,
  ENTRA_CLIENT_SECRET: TEST_CLIENT_SECRET,
  FLOW_KEY: TEST_FLOW_KEY,
  DATA_KEY: 'mZ3q8rT1vW5yB7nC2xL9kJ4hG6fD0sA1pO8iU3eR5tY',
} as const
