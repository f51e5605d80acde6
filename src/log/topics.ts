import { SluiceError } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import { errorType } from '../kafka/errors.js';
import { DEFAULT_RETRY, withRetry } from '../kafka/retry.js';
import type { Admin } from '../kafka/port.js';
import { createTopics, type TopicReplication } from '../kafka/topics.js';
import type { Topics } from '../domain/resources.js';

/** Default number of partitions of `<ns>.jobs`; a job's events all sit in one of them. */
export const DEFAULT_JOBS_PARTITIONS = 3;

/**
 * The settings of `<ns>.workers`: compacted, so a reader folds one record per worker; records
 * older than a day deleted too, so a worker that crashed (and wrote no tombstone) leaves none
 * behind for long, while a live worker rewrites its record every 10 s; hour-long segments, so
 * compaction keeps what a reader reads to a few hundred records per worker (compaction never
 * touches the segment being written).
 */
export const WORKERS_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact,delete',
  'retention.ms': String(24 * 3_600_000),
  'segment.ms': String(3_600_000),
};

/** How to create the namespace's topics when they are missing. */
export interface EnsureTopicsOptions {
  /** Partitions of `<ns>.jobs`. Default {@link DEFAULT_JOBS_PARTITIONS}. */
  jobsPartitions?: number | undefined;
  /** Replication of the namespace's topics. Default: the broker's. */
  replication?: TopicReplication | undefined;
  /** For the retries' pauses. Default: the wall clock. */
  clock?: Clock | undefined;
}

/**
 * Creates the namespace's topics when missing (`<ns>.control`, `<ns>.reports`, `<ns>.jobs`,
 * `<ns>.workers`, `<ns>.checkpoint`),
 * and checks the settings of existing ones: a control topic with several partitions would break
 * the total order of commands, and a jobs log without compaction would lose history to
 * retention.
 *
 * Transient errors are retried within the default budget. On a fresh cluster of several
 * brokers, a broker that has not yet heard of a topic just created answers
 * UNKNOWN_TOPIC_OR_PARTITION to the checks, and kafkajs's admin does not retry that: a
 * coordinator started with the cluster exited with it (test/faults/cluster.fault.test.ts).
 */
export function ensureTopics(
  admin: Admin,
  topics: Topics,
  opts: EnsureTopicsOptions = {},
): Promise<NamespaceTopics> {
  return withRetry(() => ensureOnce(admin, topics, opts), DEFAULT_RETRY, undefined, opts.clock);
}

/** What the checks read of the namespace's topics, for whoever needs it after. */
export interface NamespaceTopics {
  /** Partitions of `<ns>.jobs` as they are, whatever the options asked for. */
  jobsPartitions: number;
}

async function ensureOnce(
  admin: Admin,
  topics: Topics,
  opts: EnsureTopicsOptions,
): Promise<NamespaceTopics> {
  const jobsPartitions = opts.jobsPartitions ?? DEFAULT_JOBS_PARTITIONS;
  const existing = new Set(await admin.listTopics());
  const missing = [
    { topic: topics.control, partitions: 1 },
    {
      topic: topics.jobs,
      partitions: jobsPartitions,
      config: {
        'cleanup.policy': 'compact',
        // Keep the head of the log uncompacted for a day, so readers that lag still see every event.
        'min.compaction.lag.ms': '86400000',
      },
    },
    // A namespace created before presence records gets this topic at the next start.
    { topic: topics.workers, partitions: 1, config: { ...WORKERS_TOPIC_CONFIG } },
    // Partitioned like the job log, so a job's checkpoint sits in the partition of its events;
    // a namespace created before checkpoints gets it at the next start.
    {
      topic: topics.checkpoint,
      partitions: existing.has(topics.checkpoint)
        ? 0
        : existing.has(topics.jobs)
          ? ((await admin.partitions([topics.jobs]))[0]?.partitions.length ?? jobsPartitions)
          : jobsPartitions,
      config: { ...CHECKPOINT_TOPIC_CONFIG },
    },
    // A namespace created before reports had a topic of their own gets it at the next start.
    { topic: topics.reports, partitions: 1 },
  ].filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await createTopics(admin, missing, opts.replication);
    } catch (err) {
      // Another process may have created them at the same moment; the checks below decide.
      if (errorType(err) !== 'TOPIC_ALREADY_EXISTS') {
        const again = new Set(await admin.listTopics());
        if (!missing.every((t) => again.has(t.topic))) throw err;
      }
    }
  }
  return checkTopics(admin, topics);
}

/**
 * The checkpoint topic keeps one record per job and per log partition that matter: the latest.
 * Compacted early and often (small segments, a low dirty ratio), since every checkpoint rewrites
 * the records of the jobs that changed, and a reader reads all it holds.
 */
export const CHECKPOINT_TOPIC_CONFIG: Record<string, string> = {
  'cleanup.policy': 'compact',
  // Only closed segments are compacted: small ones, closed every minute, keep what a reader
  // reads near one record per job however long the coordinator has been writing.
  'segment.ms': '60000',
  'segment.bytes': '16777216',
  'min.cleanable.dirty.ratio': '0.1',
};

async function checkTopics(admin: Admin, topics: Topics): Promise<NamespaceTopics> {
  const meta = await admin.partitions([topics.control, topics.reports, topics.jobs]);
  for (const topic of [topics.control, topics.reports]) {
    const found = meta.find((t) => t.topic === topic);
    if (found && found.partitions.length !== 1) {
      throw new SluiceError(
        'SLUICE_TOPIC_MISCONFIGURED',
        `Topic ${topic} has ${found.partitions.length} partitions; Sluice needs exactly 1 so commands and reports keep one order. Delete it (it holds only commands or reports) or use another namespace.`,
        { details: { topic, partitions: found.partitions.length } },
      );
    }
  }
  const policy = (await admin.topicConfig(topics.jobs, ['cleanup.policy']))['cleanup.policy'] ?? '';
  if (!policy.split(',').includes('compact')) {
    throw new SluiceError(
      'SLUICE_TOPIC_MISCONFIGURED',
      `Topic ${topics.jobs} has cleanup.policy=${policy}; the job log must be compacted or retention will delete job history. Run: kafka-configs --alter --entity-type topics --entity-name ${topics.jobs} --add-config cleanup.policy=compact`,
      { details: { topic: topics.jobs, cleanupPolicy: policy } },
    );
  }
  return { jobsPartitions: meta.find((t) => t.topic === topics.jobs)?.partitions.length ?? 1 };
}
