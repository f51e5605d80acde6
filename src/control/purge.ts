import { checkpointOf, endedOutcomesOf } from '../domain/checkpoint.js';
import type { Cluster } from '../domain/cluster.js';
import { purgedKeys, type JobEvent } from '../domain/events.js';
import { jobPartition, type Topics } from '../domain/resources.js';
import type { TopicRecords } from '../kafka/port.js';

/**
 * Tombstones per send. A job that ran for a month has a few hundred thousand events; their
 * tombstones in one send would make a record batch over the broker's `message.max.bytes`.
 * 5,000 keys of about 40 bytes stay far below it.
 */
export const TOMBSTONES_PER_SEND = 5_000;

/**
 * What a batch's purges write beside its events, in the same transaction: a tombstone for each
 * earlier event of each purged job, in its partition of the job log (derived from the JobPurged
 * event's seq, see `purgedKeys`), and the job's checkpoint record replaced by the purged one
 * (no state; its next seq and who purged it), taken from `cluster` as the batch left it.
 *
 * The checkpoint record is overwritten rather than tombstoned: compaction drops the state it
 * held all the same, while the next seq stays known. A tombstone would leave the next seq to the
 * next periodic checkpoint, and a checkpoint whose positions had moved past the JobPurged event
 * without it would let a later event reuse a purged key, which a reader of the compacted log
 * skips as already folded. Empty when the batch purged nothing.
 */
export function purgeRecords(
  cluster: Cluster,
  events: readonly JobEvent[],
  topics: Topics,
  jobsPartitions: number,
): TopicRecords[] {
  const sends: TopicRecords[] = [];
  const purgedIds = new Set<string>();
  for (const e of events) {
    if (e.type !== 'JobPurged') continue;
    purgedIds.add(e.jobId);
    const partition = jobPartition(e.jobId, jobsPartitions);
    const keys = purgedKeys(e);
    for (let i = 0; i < keys.length; i += TOMBSTONES_PER_SEND)
      sends.push({
        topic: topics.jobs,
        messages: keys
          .slice(i, i + TOMBSTONES_PER_SEND)
          .map((key) => ({ key, value: null, partition })),
      });
  }
  if (purgedIds.size === 0) return sends;
  const ended = endedOutcomesOf(cluster, purgedIds);
  const messages = [...purgedIds].flatMap((jobId) => {
    const c = checkpointOf(cluster, jobId, ended);
    if (!c) return [];
    const partition = jobPartition(jobId, jobsPartitions);
    return [{ key: `job/${jobId}`, value: JSON.stringify(c), partition }];
  });
  sends.push({ topic: topics.checkpoint, messages });
  return sends;
}
