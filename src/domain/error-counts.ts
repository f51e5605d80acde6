/** How many records one stage skipped and dead-lettered, by an error policy or a resume. */
export interface StageErrorCount {
  stage: string;
  skipped: number;
  deadLettered: number;
}

/**
 * Per stage, sorted by stage name. A task's counts ride on its committed source offset as the
 * offset's metadata, so under EXACTLY_ONCE they commit in the same transaction as the records
 * they count, and a snapshot reads them with the offsets it already reads.
 */
export type ErrorCounts = StageErrorCount[];

export function addCount(
  counts: ErrorCounts,
  stage: string,
  what: 'skipped' | 'deadLettered',
  n = 1,
): ErrorCounts {
  return sumCounts([counts, [{ stage, skipped: 0, deadLettered: 0, [what]: n }]]);
}

/** The sum of several tasks' (or hops') counts. */
export function sumCounts(all: Iterable<ErrorCounts>): ErrorCounts {
  const by = new Map<string, StageErrorCount>();
  for (const counts of all)
    for (const c of counts) {
      const at = by.get(c.stage) ?? { stage: c.stage, skipped: 0, deadLettered: 0 };
      by.set(c.stage, {
        stage: c.stage,
        skipped: at.skipped + c.skipped,
        deadLettered: at.deadLettered + c.deadLettered,
      });
    }
  return [...by.values()].sort((a, b) => (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
}

export function totalCounts(counts: ErrorCounts): { skipped: number; deadLettered: number } {
  return counts.reduce(
    (t, c) => ({ skipped: t.skipped + c.skipped, deadLettered: t.deadLettered + c.deadLettered }),
    { skipped: 0, deadLettered: 0 },
  );
}

/** Offset metadata is a short string (4096 bytes by default on the broker): a version and pairs. */
const PREFIX = 'sluice1:';

/** Well under the broker's default offset.metadata.max.bytes (4096), which fails a commit. */
const MAX_METADATA = 2_048;

/**
 * The offset metadata for `counts`; null when there is nothing to count. Counts of so many (or
 * so long-named) stages that they would not fit are kept as one total under the stage "*".
 */
export function countsMetadata(counts: ErrorCounts): string | null {
  if (counts.length === 0) return null;
  const text = PREFIX + JSON.stringify(counts.map((c) => [c.stage, c.skipped, c.deadLettered]));
  if (text.length <= MAX_METADATA) return text;
  const t = totalCounts(counts);
  return PREFIX + JSON.stringify([['*', t.skipped, t.deadLettered]]);
}

/**
 * The counts in an offset's metadata. Anything else (none, another tool's, a damaged one) reads
 * as no counts: the counts are a report, never a reason to stop a job.
 */
export function countsFromMetadata(metadata: string | null | undefined): ErrorCounts {
  if (!metadata?.startsWith(PREFIX)) return [];
  try {
    const pairs = JSON.parse(metadata.slice(PREFIX.length)) as unknown;
    if (!Array.isArray(pairs)) return [];
    return sumCounts([
      pairs
        .filter(
          (p): p is [string, number, number] =>
            Array.isArray(p) &&
            typeof p[0] === 'string' &&
            Number.isSafeInteger(p[1]) &&
            Number.isSafeInteger(p[2]),
        )
        .map(([stage, skipped, deadLettered]) => ({ stage, skipped, deadLettered })),
    ]);
  } catch {
    return [];
  }
}
