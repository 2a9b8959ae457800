import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A timeout here only catches a hang; it never decides a result. Many tests run real processes
    // (npm, pnpm, yarn, bun, the Action, `lockwarden serve`, PostgreSQL, Chromium), whose time
    // grows with the machine's load: at load average 24 on the 2-core CI machine, tests with the
    // former 30 s default took up to 20 s and 90 s ones up to 36 s.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // e2e tests spawn the real npm client; two cores do not benefit from more workers.
    maxWorkers: 2,
  },
});
