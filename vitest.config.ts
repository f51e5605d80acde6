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
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        // Kills worker processes mid-run, so it runs alone after the integration project (one
        // file, no parallel load) and has a longer timeout. Part of `npm test`.
        test: {
          name: 'crash',
          include: ['test/**/*.crash.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
