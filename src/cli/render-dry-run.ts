import type { DryRunResult, DryRunWorkerAnswer } from '../client/dry-run.js';

/**
 * `sluice resume --dry-run`'s human output: the record, then per worker its code and what the
 * record did in it, then the verdict, e.g.
 *
 * ```
 * Dry run of resuming prices on record in/0@39 (nothing was changed):
 *   worker new-1 (code 3f9a0c2b7d1e): would write 1 record(s):
 *     c1 → {"n":40}
 *   worker old-1 (code 5be1c0de0a17): fails again: RangeError: n=40 has no price (stage "price")
 * The record still fails in the code of old-1: do not resume yet.
 * ```
 */
export function renderDryRun(job: string, r: DryRunResult): string {
  const { topic, partition, offset } = r.record;
  const lines = [
    `Dry run of resuming ${job} on record ${topic}/${partition}@${offset} (nothing was changed):`,
  ];
  for (const a of r.answers) lines.push(...answerLines(a));
  if (r.missing.length > 0)
    lines.push(`  no answer in time from: ${r.missing.join(', ')} (their code was not tried)`);
  const failing = r.answers.filter((a) => a.error !== null).map((a) => a.worker);
  lines.push(
    r.wouldSucceed
      ? `The record goes through: \`sluice resume ${job}\` would get past it.`
      : `The record still fails in the code of ${failing.join(', ')}: do not resume yet.`,
  );
  return lines.join('\n');
}

function answerLines(a: DryRunWorkerAnswer): string[] {
  const head = `  worker ${a.worker} (code ${a.fingerprint ?? 'unknown'}):`;
  if (a.error) {
    const stage = a.stage ? ` (stage "${a.stage}")` : '';
    return [`${head} fails again: ${a.error.name}: ${a.error.message}${stage}`];
  }
  const lines = [`${head} would write ${a.outputCount} record(s)${a.outputCount > 0 ? ':' : ''}`];
  for (const o of a.outputs) lines.push(`    ${o.key ?? '(no key)'} → ${o.valuePreview ?? 'null'}`);
  const more = a.outputCount - a.outputs.length;
  if (more > 0) lines.push(`    … and ${more} more`);
  return lines;
}
