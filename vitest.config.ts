import { defineConfig } from 'vitest/config';

/**
 * Fault scenarios that found a bug not fixed yet:
 * - cluster: 2 of 4 runs passed; a coordinator did not start on the fresh 3-broker cluster, and
 *   once the job's hops were not through their inputs 180 s after the leader kill;
 * - long-outage: after a 15 s broker outage and a resume, 1,000 of one key's records were counted
 *   twice (a chunk whose commit outcome was lost, it seems);
 * - first-start: a coordinator did not exit on SIGINT within 15 s in 1 of 3 runs.
 */
const OPEN_BUGS = [
  'test/faults/cluster.fault.test.ts',
  'test/faults/long-outage.fault.test.ts',
  'test/faults/first-start.fault.test.ts',
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
          exclude: OPEN_BUGS,
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
