/** Secrets and vars the tests run with (wrangler.toml's local vars supply the rest). */
export const TEST_ADMIN_KEY = 'test-ops-key-0123456789abcdefghijklmnopqrstuvwxyz'
export const TEST_CLIENT_ID = '00000000-0000-4000-8000-00000000c11e'
export const TEST_CLIENT_SECRET = 'test-client-secret-value'
/** 32 bytes of zeros would do; a fixed random value reads less like a bug. */
export const TEST_FLOW_KEY = 'Xq2d7lY1c9n0k3v8J6mB4tR5wE2uI7oP1aS9dF3gH6k'

/**
 * Every secret is set here, so a developer's .dev.vars (which the test pool
 * also reads) can never change what the tests see.
 */
export const TEST_BINDINGS = {
  ENTRA_TIMEOUT_MS: '1500',
  ADMIN_API_KEY: TEST_ADMIN_KEY,
  ENTRA_CLIENT_ID: TEST_CLIENT_ID,
  ENTRA_CLIENT_SECRET: TEST_CLIENT_SECRET,
  FLOW_KEY: TEST_FLOW_KEY,
} as const
