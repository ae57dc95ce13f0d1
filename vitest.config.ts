import { defineConfig } from 'vitest/config';

// Mesa's EGL reads this from the process environment; worker threads get a copy it never sees.
process.env['EGL_PLATFORM'] ??= 'surfaceless';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup-node.ts'],
    testTimeout: 60_000,
  },
});
