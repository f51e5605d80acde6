import { defineConfig } from 'vitest/config';

/**
 * Tests that found a bug not fixed yet, run by `npm run test:open-bugs` instead of `npm test`
 * until the fix lands (docs/operations.md, "What Sluice survives"), unchanged and failing when
 * the bug shows.
 */
const OPEN_BUGS: string[] = [
  // After the broker outage and a resume, one input partition's keys were counted 500 times
  // too often (2 runs in 29). Kafka 4.4.0's: restarted after a SIGKILL mid-commit, the broker
  // drops a committed transaction's offsets marker (docs/operations.md, "What Sluice survives").
  'test/faults/long-outage.fault.test.ts',
  // The same loss without Sluice's runtime (1 partition in 66 in a loop).
  'test/faults/txn-offsets.fault.test.ts',
];

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
          exclude: OPEN_BUGS,
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
          // Scenarios that have found bugs not fixed yet (docs/operations.md, "What Sluice
          // survives"): run on their own by `npm run test:open-bugs`, unchanged and failing when
          // the bug shows, until the fix lands. Not retried, not weakened.
          ...(OPEN_BUGS.length > 0 && { exclude: OPEN_BUGS }),
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'open-bugs',
          include: OPEN_BUGS,
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
