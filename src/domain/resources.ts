/**
 * The names of Sluice's Kafka resources, all in one place: the namespace's topics, the
 * coordinator's group and transactional id, a job's topics, groups and transactional ids. The
 * runtime creates them, the coordinator reads them for snapshots, cleanup deletes them; one
 * definition keeps them in step.
 */
import { SluiceError } from './errors.js';

/** The topic names of one namespace. */
export interface Topics {
  namespace: string;
  /**
   * Operators' commands in; one partition, so the coordinator sees them in one total order.
   * Workers write nothing here (issue 15): with ACLs, only operator principals may.
   */
  control: string;
  /**
   * Workers' reports in (and the coordinator's own snapshot reports); one partition. Apart from
   * the commands so that Kafka ACLs can tell the two writers apart: only worker (and
   * coordinator) principals may write here.
   */
  reports: string;
  /** The compacted lifecycle log: every event of every job. */
  jobs: string;
  /** Presence: one record per worker, with the fingerprints of the code it runs (compacted). */
  workers: string;
  /**
   * The coordinator's checkpoints of the folded state (compacted): each job's state and the job
   * log's positions it covers, so a new coordinator reads the log's tail only (issue 18).
   */
  checkpoint: string;
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** The topic names for a namespace; throws on a namespace Kafka or the registry would choke on. */
export function topicNames(namespace: string): Topics {
  if (!NAMESPACE.test(namespace)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Namespace "${namespace}" must be 1-100 letters, digits, "_" or "-" (no dots: they separate the parts of Sluice's topic names).`,
    );
  }
  return {
    namespace,
    control: `${namespace}.control`,
    reports: `${namespace}.reports`,
    jobs: `${namespace}.jobs`,
    workers: `${namespace}.workers`,
    checkpoint: `${namespace}.checkpoint`,
  };
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

/**
 * The coordinator election's consumer group, which is also the coordinators' one transactional
 * id: taking it over fences an earlier coordinator of the namespace.
 */
export function coordinatorGroup(namespace: string): string {
  return `${namespace}.coordinator`;
}

/**
 * The prefix of the throwaway group of a job log reader that follows the log (it commits
 * nothing): `client` or `worker`, so a listing of groups says who reads. Reads that end use no
 * group on a real broker (Kafka.readRanges).
 */
export function logReaderGroupPrefix(namespace: string, reader: string): string {
  return `${namespace}.${reader}`;
}

/** The prefix of the throwaway groups through which the in-memory Kafka reads offset ranges. */
export const READ_GROUP_PREFIX = 'sluice-read';

/** The changelog topic of a stateful stage. */
export function changelogTopic(namespace: string, jobId: string, stage: string): string {
  return `${namespace}.state.${jobId}.${stage}`;
}

/**
 * An exported snapshot's copy of a stage's changelog. It belongs to the snapshot, not the job,
 * so it outlives the job's cleanup; `sluice snapshots delete` removes it.
 */
export function snapshotTopic(namespace: string, name: string, stage: string): string {
  return `${namespace}.snapshot.${name}.${stage}`;
}

/** An exported snapshot's copy of the records a stage had not read from its repartition topic. */
export function snapshotInputTopic(namespace: string, name: string, stage: string): string {
  return `${namespace}.snapshot-input.${name}.${stage}`;
}

/** The internal topic feeding a stateful stage, keyed by its grouping key. */
export function repartitionTopic(namespace: string, jobId: string, stage: string): string {
  return `${namespace}.repartition.${jobId}.${stage}`;
}

/**
 * The consumer group of a job's sources: its committed offsets are the job's source position.
 * Each stateful stage's hop has the group `<jobGroup>.<stage>`.
 */
export function jobGroup(namespace: string, jobId: string): string {
  return `${namespace}.job.${jobId}`;
}

/** The consumer group of the hop feeding the stateful stage `stage`. */
export function stageGroup(namespace: string, jobId: string, stage: string): string {
  return `${jobGroup(namespace, jobId)}.${stage}`;
}

/** True for the job's source group and its stage groups. */
export function isJobGroup(namespace: string, jobId: string, groupId: string): boolean {
  const base = jobGroup(namespace, jobId);
  return groupId === base || groupId.startsWith(`${base}.`);
}

/**
 * The transactional id of an exactly-once task: one per hop group and input partition, so the
 * next owner of the partition (or the coordinator freezing the job) fences the previous one.
 */
export function taskTransactionalId(groupId: string, topic: string, partition: number): string {
  return `${groupId}.${topic}.${partition}`;
}

/** The transactional id of the seeding of a new job from an exported snapshot (its source group's). */
export function seedTransactionalId(jobGroupId: string): string {
  return `${jobGroupId}.seed`;
}

/** The changelog record key: the task it belongs to plus the grouping key. */
export function changelogKey(topic: string, partition: number, key: string): string {
  return `${topic}\u0000${partition}\u0000${key}`;
}

/** Splits a changelog key; undefined for keys another writer made. */
export function parseChangelogKey(
  raw: string,
): { topic: string; partition: number; key: string } | undefined {
  const [topic, partition, ...rest] = raw.split('\u0000');
  if (
    topic === undefined ||
    partition === undefined ||
    rest.length === 0 ||
    !/^\d+$/.test(partition)
  )
    return undefined;
  return { topic, partition: Number(partition), key: rest.join('\u0000') };
}
