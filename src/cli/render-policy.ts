import { totalCounts, type ErrorCounts } from '../domain/error-counts.js';
import type { ActionRule, ErrorPolicy, RetryRule } from '../domain/error-policy.js';

/** A job's error policy on one line: `-` when it has none. */
export function policySummary(p: ErrorPolicy): string {
  const parts: string[] = [];
  if (p.retry) parts.push(retry(p.retry));
  parts.push(...p.actions.map(action));
  if (p.budget)
    parts.push(`budget: ${p.budget.maxRecords} record(s) per ${p.budget.windowMs / 1000} s`);
  for (const [stage, s] of Object.entries(p.stages)) {
    const own = [...(s.retry ? [retry(s.retry)] : []), ...s.actions.map(action)];
    if (own.length > 0) parts.push(`stage ${stage}: ${own.join(', ')}`);
  }
  return parts.join('; ') || '-';
}

function retry(r: RetryRule): string {
  return `retry ${r.on.join('|')} up to ${r.maxRetries}x from ${r.backoffMs} ms`;
}

function action(r: ActionRule): string {
  const what =
    r.action === 'DEAD_LETTER'
      ? `dead-letter to ${r.deadLetterTopic ?? '?'}`
      : r.action.toLowerCase();
  return `${r.on.join('|')} → ${what}`;
}

/** The records let past, in total and per stage: `none` when none. */
export function countsSummary(counts: ErrorCounts): string {
  if (counts.length === 0) return 'none';
  const t = totalCounts(counts);
  const per = counts.map((c) => `${c.stage}: ${c.skipped}/${c.deadLettered}`).join(', ');
  return `${t.skipped} skipped, ${t.deadLettered} dead-lettered (skipped/dead-lettered by stage: ${per})`;
}
