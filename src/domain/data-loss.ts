import { SluiceError } from './errors.js';

/**
 * A partition whose records past a job's committed offset were deleted (by retention, or an
 * operator's `deleteRecords`) before the job read them: the records from `committed` to
 * `earliest - 1` are gone. Offsets are decimal strings, as everywhere in Sluice's data.
 */
export interface LostRange {
  topic: string;
  partition: number;
  /** The job's committed offset: the next record it would have read, the first one lost. */
  committed: string;
  /** The partition's log start offset now: the first record left, one past the last one lost. */
  earliest: string;
}

/**
 * Thrown (and reported) instead of starting a run that would skip deleted records without a
 * word: a Kafka consumer whose committed offset lies below the log start just starts at the log
 * start. Carries every partition and the range that is gone; `acceptDataLoss` on the resume goes
 * on from the log start instead. Also the cause of a running job's suspension when the records
 * were deleted before it read them (`when: 'running'`, see runtime/lost-records.ts).
 */
export class SourceDataLostError extends SluiceError {
  constructor(
    readonly jobName: string,
    readonly lost: readonly LostRange[],
    readonly when: 'stopped' | 'running' = 'stopped',
  ) {
    super('SLUICE_SOURCE_DATA_LOST', dataLossMessage(jobName, lost, when), {
      details: { job: jobName, when, partitions: lost.map((l) => ({ ...l })) },
    });
    this.name = 'SourceDataLostError';
  }
}

/**
 * What is gone and what to do, naming each partition and its range, e.g. `Records of
 * orders-2 at offsets 120..499 were deleted (retention or deleteRecords) while job "orders"
 * was stopped; resuming would skip them. Resume with --accept-data-loss to go on from offset
 * 500, or restore the data.` A running job was suspended instead of skipping them.
 */
export function dataLossMessage(
  jobName: string,
  lost: readonly LostRange[],
  when: 'stopped' | 'running' = 'stopped',
): string {
  const first = lost[0];
  const from =
    lost.length === 1 && first
      ? `offset ${first.earliest}`
      : `each partition's earliest offset (${lost.map((l) => `${partitionName(l)}: ${l.earliest}`).join(', ')})`;
  return (
    (when === 'stopped'
      ? `Records of ${describeLostRanges(lost)} were deleted (retention or deleteRecords) while job "${jobName}" was stopped; resuming would skip them. `
      : `Records of ${describeLostRanges(lost)} were deleted (retention or deleteRecords) before job "${jobName}" read them; it was suspended rather than skip them. `) +
    `Resume with --accept-data-loss to go on from ${from}, or restore the data.`
  );
}

/** `orders-2 at offsets 120..499 and orders-5 at offset 7`: the ranges, Kafka's way of naming partitions. */
export function describeLostRanges(lost: readonly LostRange[]): string {
  const each = lost.map((l) => {
    const last = BigInt(l.earliest) - 1n;
    const offsets =
      last === BigInt(l.committed) ? `offset ${l.committed}` : `offsets ${l.committed}..${last}`;
    return `${partitionName(l)} at ${offsets}`;
  });
  return each.length <= 1
    ? (each[0] ?? 'no partition')
    : `${each.slice(0, -1).join(', ')} and ${each.at(-1)}`;
}

function partitionName(l: LostRange): string {
  return `${l.topic}-${l.partition}`;
}
