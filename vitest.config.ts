import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` gets a real Kafka broker and schema
// registry from the global setup, which finds or starts them through src/infra.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/**/*.crash.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          // *.crash.test.ts kill worker processes mid-run (their tests set longer timeouts);
          // they share this project's servers rather than starting a second pair.
          include: ['test/**/*.int.test.ts', 'test/**/*.crash.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
