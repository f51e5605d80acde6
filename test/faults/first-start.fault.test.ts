import { describe, expect, it } from 'vitest';
import { SUBJECT_COMPATIBILITY } from '../../src/codec/registry.js';
import { LineReader, startCli } from '../support/cli.js';
import { endpoints, sluiceEnv, testNamespace } from '../support/kafka.js';
import { recordFault, spread } from './record.js';

// Issue 14, scenario 9: five workers and two coordinators, as `sluice` processes, started in the
// same moment in a namespace nobody has used, ten times. A deployment does exactly this, and it
// once made one worker exit: the registration of the namespace's schemas raced (see
// RegistryClient.register). Every process must come up and stay up, and the registry must end
// with one version of each schema under the intended compatibility.

const ROUNDS = Number(process.env.SLUICE_FAULT_ROUNDS ?? 10);
const WORKERS = 5;
const COORDINATORS = 2;

async function registry(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${endpoints().registryUrl}${path}`);
  return { status: res.status, body: await res.json() };
}

describe('concurrent first start', () => {
  it(`${WORKERS} workers and ${COORDINATORS} coordinators started together in a new namespace, ${ROUNDS} times: all stay up, schemas registered once`, async (ctx) => {
    const startTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ns = testNamespace(`first${round}`);
      const env = sluiceEnv(ns);
      const started = Date.now();
      const children = [
        ...Array.from({ length: WORKERS }, (_, i) =>
          startCli(
            [
              'worker',
              'test/fixtures/pipelines/metered.mjs',
              '--no-coordinator',
              '--worker-id',
              `w${i}`,
              '--json',
            ],
            env,
          ),
        ),
        ...Array.from({ length: COORDINATORS }, () => startCli(['coordinator', '--json'], env)),
      ].map((c) => new LineReader(c));
      try {
        // Each prints one JSON line once it is up; one that exits first fails here with its stderr.
        await Promise.all(children.map((c) => c.waitFor(() => true, 120_000)));
        startTimes.push(Date.now() - started);
        for (const subject of [`${ns}.control-value`, `${ns}.jobs-value`]) {
          const versions = await registry(`/subjects/${subject}/versions`);
          expect(versions, subject).toEqual({ status: 200, body: [1] });
          const config = await registry(`/config/${subject}`);
          expect(config.body, subject).toEqual({ compatibilityLevel: SUBJECT_COMPATIBILITY });
        }
      } finally {
        // A process that does not exit on SIGINT within 15 s is killed, and named below.
        const codes = await Promise.all(
          children.map(async (c) => {
            const kill = setTimeout(() => c.child.kill('SIGKILL'), 15_000);
            const code = await c.stop('SIGINT');
            clearTimeout(kill);
            return code;
          }),
        );
        // Still up when stopped: each exits 0 on SIGINT, not with the code of an earlier crash.
        expect(codes, children.map((c) => c.stderr).join('\n')).toEqual(children.map(() => 0));
        // And by itself: none needed the exit that follows a stop which left something open
        // (exitSoonAfterStop in src/cli/signals.ts), which logs what it was.
        const leaked = children.filter((c) => c.stderr.includes('exiting anyway'));
        expect(leaked.map((c) => c.stderr)).toEqual([]);
      }
    }
    recordFault(ctx, {
      scenario: `first start: ${WORKERS} workers + ${COORDINATORS} coordinators at once, ${ROUNDS} rounds`,
      invariant: 'all stay up; one schema version each, BACKWARD',
      figures: {
        rounds: ROUNDS,
        ...Object.fromEntries(
          Object.entries(spread(startTimes)).map(([k, v]) => [`allUp${k}Ms`, v]),
        ),
      },
    });
  });
});
