import { defineConfig } from 'vitest/config'

// Browser tests: Node, not workerd. They start the whole local stack (dev/stack.ts)
// on free ports with a throw-away database and drive Debian's chromium.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['**/*.e2e.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
})
