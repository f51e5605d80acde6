import type { TestContext } from 'vitest';

/**
 * What one fault scenario measured, for the table `npm run test:faults` prints: the invariant
 * it checks and its figures (times in ms, counts). Kept on the test's meta, which vitest hands
 * to reporters, so the table shows only what a test that ran actually saw.
 */
export interface FaultFigures {
  scenario: string;
  invariant: string;
  figures: Record<string, number | string>;
}

declare module 'vitest' {
  interface TaskMeta {
    fault?: FaultFigures;
  }
}

/** Records a scenario's figures on the running test. */
export function recordFault(ctx: TestContext, fault: FaultFigures): void {
  ctx.task.meta.fault = fault;
}

/** p50 and max of a list of durations, ms, rounded. */
export function spread(values: number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: Math.round(sorted[Math.floor((sorted.length - 1) / 2)] ?? 0),
    max: Math.round(sorted[sorted.length - 1] ?? 0),
  };
}
