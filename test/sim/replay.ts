/**
 * Replays simulation seeds from the command line.
 *
 *   npm run sim -- --seed 1234            one seed: its schedule, what happened, what broke
 *   npm run sim -- --seed 1234 --trace    the same, with the cluster's trace of every operation
 *   SIM_SEEDS=5000 npm run sim            many seeds (from SIM_FROM, default 1): the failing ones
 */
import { parseArgs } from 'node:util';
import { runSeed, type SeedResult } from './run.js';
import { describeSchedule } from './schedule.js';

/** Prints one seed's story. */
function report(r: SeedResult, trace: boolean): void {
  const out: string[] = [...describeSchedule(r.schedule), '', 'what happened (virtual ms):'];
  out.push(...r.notes.map((n) => `  ${n}`));
  if (trace) out.push('', 'cluster trace:', ...r.trace.map((l) => `  ${l}`));
  out.push('', r.problems.length === 0 ? 'PASS: every invariant holds' : 'FAIL:');
  out.push(...r.problems.map((p) => `  - ${p}`));
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, trace: { type: 'boolean', default: false } },
  });
  if (values.seed !== undefined) {
    const r = await runSeed(Number(values.seed), { trace: values.trace });
    report(r, values.trace);
    return r.problems.length === 0 ? 0 : 1;
  }
  const count = Number(process.env.SIM_SEEDS ?? 1_000);
  const from = Number(process.env.SIM_FROM ?? 1);
  const started = performance.now();
  const failed: number[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r = await runSeed(seed);
    if (r.problems.length > 0) {
      failed.push(seed);
      process.stdout.write(`seed ${seed} FAILED: ${r.problems.slice(0, 3).join('; ')}\n`);
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `${count - failed.length} of ${count} seeds passed in ${seconds} s` +
      (failed.length > 0 ? `; replay one with: npm run sim -- --seed ${failed[0]}\n` : '\n'),
  );
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
