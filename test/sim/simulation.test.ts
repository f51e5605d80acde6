import { describe, expect, it } from 'vitest';
import { runSeed, type SeedResult } from './run.js';

/** Seeds run by default; `SIM_SEEDS=5000 npx vitest run --project unit test/sim` runs more. */
const DEFAULT_SEEDS = 1_000;
const SEEDS = Number(process.env.SIM_SEEDS ?? DEFAULT_SEEDS);
/** The first seed; another range: `SIM_FROM=20000`. */
const FROM = Number(process.env.SIM_FROM ?? 1);

/** What a failing seed says: its problems, and how to replay it. */
function failure(r: SeedResult): string {
  return [
    `seed ${r.seed} broke an invariant:`,
    ...r.problems.slice(0, 5).map((p) => `  - ${p}`),
    `  replay: npm run sim -- --seed ${r.seed}`,
  ].join('\n');
}

describe('the whole system on a seeded, randomised schedule', () => {
  it(
    `counts every input once and applies every command once, for ${SEEDS} seeds`,
    { timeout: 600_000 },
    async () => {
      const failures: string[] = [];
      for (let seed = FROM; seed < FROM + SEEDS; seed++) {
        const r = await runSeed(seed);
        if (r.problems.length > 0) failures.push(failure(r));
      }
      expect(
        failures.length,
        `${failures.length} of ${SEEDS} seeds failed:\n${failures.slice(0, 5).join('\n')}`,
      ).toBe(0);
    },
  );

  it('replays a seed exactly: the same seed gives the same trace', async () => {
    for (const seed of [7, 4242]) {
      const first = await runSeed(seed, { trace: true });
      const second = await runSeed(seed, { trace: true });
      expect(second.notes).toEqual(first.notes);
      expect(second.trace).toEqual(first.trace);
      expect(first.trace.length).toBeGreaterThan(100);
    }
  });
});
