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
}

/**
 * Reads the checkpoint topic to its end (read_committed): the latest record per key. A record
 * this version cannot read is left out, so its job, or its partition, is read from the log.
 */
export async function readCheckpoint(kafka: Kafka, topic: string): Promise<Checkpoint> {
  const latest = new Map<string, string | null>();
  await readToEnd(kafka, [topic], (_t, _p, r) => {
    const key = r.key?.toString();
    if (key !== undefined) latest.set(key, r.value ? r.value.toString() : null);
  });
  const jobs: JobCheckpoint[] = [];
  const positions = new Map<number, bigint>();
  for (const value of latest.values()) {
    const parsed = value === null ? undefined : parseCheckpoint(value);
    if (!parsed) continue;
    if ('partition' in parsed) positions.set(parsed.partition, BigInt(parsed.offset));
    else jobs.push(parsed);
  }
  return { jobs, positions };
}
