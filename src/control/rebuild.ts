import type { EventCodec } from '../codec/log-codec.js';
import { clusterFromCheckpoints } from '../domain/checkpoint.js';
import { emptyCluster, fold, type Cluster } from '../domain/cluster.js';
import { logReaderGroupPrefix, topicNames } from '../domain/resources.js';
import { topicOffsets, withAdmin } from '../kafka/offsets.js';
import type { Kafka } from '../kafka/port.js';
import { LogReader } from '../log/log-reader.js';
import { failpoint } from '../observability/failpoint.js';
import type { Logger } from '../observability/logger.js';
import { readCheckpoint } from '../log/checkpoint-reader.js';
import { FULL_CHECKPOINT_AFTER_EVENTS } from './checkpoint.js';

/** What a rebuild found: the state, and what it read to get it. */
export interface Rebuilt {
  cluster: Cluster;
  /** Events read from the log (its tail after the checkpoint). */
  events: number;
  /** Jobs the checkpoint held. */
  checkpointed: number;
  /**
   * Whether the next checkpoint must hold every job: the rebuild read many events past the last
   * one, or found records of another version in it (and so did not use it).
   */
  rewriteWhole: boolean;
  /** Per job-log partition, the offset after its last record: where the log ended. */
  ends: Map<number, bigint>;
  /** The job ids whose events were read from the log's tail: the checkpoint does not hold them yet. */
  tailJobs: Set<string>;
}

/**
 * The state of every job of a namespace, as a coordinator decides against it once elected: the
 * last checkpoint folded, then the job log from the positions it covers (from the beginning
 * where it has none: a namespace older than checkpoints, or none written yet). Called once the
 * election has fenced every earlier coordinator, so nothing is appended meanwhile and the ends
 * read first are the log's ends. `heartbeat` keeps the election's membership while a long log
 * is read.
 */
export async function rebuildState(o: {
  kafka: Kafka;
  codec: EventCodec;
  namespace: string;
  logger: Logger;
  heartbeat?: (() => Promise<void>) | undefined;
}): Promise<Rebuilt> {
  const topics = topicNames(o.namespace);
  const ends = new Map(
    (await withAdmin(o.kafka, (admin) => topicOffsets(admin, topics.jobs))).map((p) => [
      p.partition,
      p.high,
    ]),
  );
  const checkpoint = await readCheckpoint(o.kafka, topics.checkpoint);
  const cluster = clusterFromCheckpoints(emptyCluster(), checkpoint.jobs);
  const reader = new LogReader({
    kafka: o.kafka,
    codec: o.codec,
    topic: topics.jobs,
    logger: o.logger,
    groupPrefix: logReaderGroupPrefix(o.namespace, 'coordinator-rebuild'),
    onProgress: () => o.heartbeat?.(),
    from: checkpoint.positions,
  });
  const tailJobs = new Set<string>();
  try {
    await reader.start((e) => {
      fold(cluster, e);
      tailJobs.add(e.jobId);
      failpoint('coordinator.during-rebuild', reader.eventsRead === 1_000);
    });
  } finally {
    await reader.stop();
  }
  return {
    cluster,
    events: reader.eventsRead,
    checkpointed: checkpoint.jobs.length,
    rewriteWhole: reader.eventsRead > FULL_CHECKPOINT_AFTER_EVENTS || checkpoint.skipped > 0,
    ends,
    tailJobs,
  };
}
