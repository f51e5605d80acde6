import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing running; `integration` gets a real Kafka broker and schema
// registry from the global setup, which finds or starts them through src/infra.
export default defineConfig({
  test: {
    // The fault campaign's table (test/faults/table-reporter.ts) follows the usual output
    // whenever the run includes the faults project.
    reporters: ['default', './test/faults/table-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/**/*.crash.test.ts', 'test/**/*.fault.test.ts'],
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
      {
        test: {
          // The fault campaign (test/faults, `npm run test:faults` prints its table): real
          // processes, real signals, servers stopped and started. One file at a time, because a
          // scenario that pauses a server or loads the machine would skew its neighbours' times.
          name: 'faults',
          include: ['test/faults/**/*.fault.test.ts'],
          // Not yet reliable (see the issue 14 note): passed 2 of 4 runs, failing once when the
          // coordinator did not start and once when the job's hops did not get through their
          // inputs within 180 s after the leader kill. A bug to find, so it is run on its own
          // (`npm run test:cluster`) until it is found, not retried here.
          exclude: ['test/faults/cluster.fault.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/faults/cluster.fault.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
