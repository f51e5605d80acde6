import type { Admin } from 'kafkajs';
import kafkajs from '../kafka/kafkajs.js';
import { SluiceError } from '../domain/errors.js';

/** The topic names of one namespace. */
export interface Topics {
  namespace: string;
  /** Commands in; one partition, so the coordinator sees them in one total order. */
  control: string;
  /** The compacted lifecycle log: every event of every job. */
  jobs: string;
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** Default number of partitions of `<ns>.jobs`; a job's events all sit in one of them. */
export const DEFAULT_JOBS_PARTITIONS = 3;

/** The topic names for a namespace; throws on a namespace Kafka or the registry would choke on. */
export function topicNames(namespace: string): Topics {
  if (!NAMESPACE.test(namespace)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Namespace "${namespace}" must be 1-100 letters, digits, "_" or "-" (no dots: they separate the parts of Sluice's topic names).`,
    );
  }
  return { namespace, control: `${namespace}.control`, jobs: `${namespace}.jobs` };
}

/** The namespace from a flag, then SLUICE_NAMESPACE, then "sluice". */
export function resolveNamespace(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return (
    flag ??
    (env.SLUICE_NAMESPACE && env.SLUICE_NAMESPACE.length > 0 ? env.SLUICE_NAMESPACE : 'sluice')
  );
}

/**
 * Creates the namespace's topics when missing, and checks the settings of existing ones: a
 * control topic with several partitions would break the total order of commands, and a jobs
 * log without compaction would lose history to retention.
 */
export async function ensureTopics(
  admin: Admin,
  topics: Topics,
  jobsPartitions = DEFAULT_JOBS_PARTITIONS,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = [
    { topic: topics.control, numPartitions: 1, configEntries: [] },
    {
      topic: topics.jobs,
      numPartitions: jobsPartitions,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        // Keep the head of the log uncompacted for a day, so readers that lag still see every event.
        { name: 'min.compaction.lag.ms', value: '86400000' },
      ],
    },
  ].filter((t) => !existing.has(t.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({ topics: missing, waitForLeaders: true });
    } catch (err) {
      // Another process may have created them at the same moment; the checks below decide.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') {
        const again = new Set(await admin.listTopics());
        if (!missing.every((t) => again.has(t.topic))) throw err;
      }
    }
  }
  await checkTopics(admin, topics);
}

async function checkTopics(admin: Admin, topics: Topics): Promise<void> {
  const meta = await admin.fetchTopicMetadata({ topics: [topics.control, topics.jobs] });
  const control = meta.topics.find((t) => t.name === topics.control);
  if (control && control.partitions.length !== 1) {
    throw new SluiceError(
      'SLUICE_TOPIC_MISCONFIGURED',
      `Topic ${topics.control} has ${control.partitions.length} partitions; Sluice needs exactly 1 so commands keep one order. Delete it (it holds only commands) or use another namespace.`,
      { details: { topic: topics.control, partitions: control.partitions.length } },
    );
  }
  const configs = await admin.describeConfigs({
    resources: [
      {
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: topics.jobs,
        configNames: ['cleanup.policy'],
      },
    ],
    includeSynonyms: false,
  });
  const policy =
    configs.resources[0]?.configEntries.find((c) => c.configName === 'cleanup.policy')
      ?.configValue ?? '';
  if (!policy.split(',').includes('compact')) {
    throw new SluiceError(
      'SLUICE_TOPIC_MISCONFIGURED',
      `Topic ${topics.jobs} has cleanup.policy=${policy}; the job log must be compacted or retention will delete job history. Run: kafka-configs --alter --entity-type topics --entity-name ${topics.jobs} --add-config cleanup.policy=compact`,
      { details: { topic: topics.jobs, cleanupPolicy: policy } },
    );
  }
}

/** The partition of `<ns>.jobs` that holds a job's events: FNV-1a of the job id, so every writer agrees. */
export function jobPartition(jobId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) {
    h ^= jobId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}
