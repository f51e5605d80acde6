/**
 * The names of a job's Kafka resources. The runtime creates them, the coordinator reads them
 * for snapshots, cleanup deletes them; one definition keeps the three in step.
 */

/** The changelog topic of a stateful stage. */
export function changelogTopic(namespace: string, jobId: string, stage: string): string {
  return `${namespace}.state.${jobId}.${stage}`;
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
