/** Secrets and vars the tests run with (wrangler.toml's local vars supply the rest). */
export const TEST_ADMIN_KEY = 'test-ops-key-0123456789abcdefghijklmnopqrstuvwxyz'

export const TEST_BINDINGS = {
  ADMIN_API_KEY: TEST_ADMIN_KEY,
} as const
