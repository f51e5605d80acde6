import { parseCheckpoint, type JobCheckpoint } from '../domain/checkpoint.js';
import type { Kafka } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';

// Reading `<ns>.checkpoint`, which the active coordinator writes (src/control/checkpoint.ts):
// a new coordinator and any reader that starts from it.

/** What a checkpoint topic holds: the jobs' states and the log positions they cover. */
export interface Checkpoint {
  jobs: JobCheckpoint[];
  /** Per job-log partition, the next offset after what the states cover. */
  positions: Map<number, bigint>;
  /** Records this version could not read (another version's): the checkpoint is incomplete. */
  skipped: number;
}

/**
 * Reads the checkpoint topic to its end (read_committed): the latest record per key. If any
 * record is one this version cannot read (written by another version), the checkpoint counts
 * as empty and the log is read from its start.
 */
export async function readCheckpoint(kafka: Kafka, topic: string): Promise<Checkpoint> {
  const latest = new Map<string, string | null>();
  await readToEnd(kafka, [topic], (_t, _p, r) => {
    const key = r.key?.toString();
    if (key !== undefined) latest.set(key, r.value ? r.value.toString() : null);
  });
  const jobs: JobCheckpoint[] = [];
  const positions = new Map<number, bigint>();
  let skipped = 0;
  for (const value of latest.values()) {
    if (value === null) continue;
    const parsed = parseCheckpoint(value);
    if (!parsed) {
      skipped++;
      continue;
    }
    if ('partition' in parsed) positions.set(parsed.partition, BigInt(parsed.offset));
    else jobs.push(parsed);
  }
  // Positions only hold for a checkpoint read whole: with any job's record unreadable, they
  // would skip that job's events, so the log is read from its start instead.
  return skipped > 0 ? { jobs: [], positions: new Map(), skipped } : { jobs, positions, skipped };
}
