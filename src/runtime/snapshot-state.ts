import { SluiceError } from '../domain/errors.js';
import { changelogTopic, repartitionTopic, stageGroup } from '../domain/resources.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Admin } from '../kafka/port.js';

/** The stages a job holds state for: its changelog topics that have records, with their partition counts. */
export async function savedStages(
  admin: Admin,
  namespace: string,
  jobId: string,
): Promise<Map<string, number>> {
  const prefix = changelogTopic(namespace, jobId, '');
  const stages = new Map<string, number>();
  for (const topic of (await admin.listTopics()).filter((t) => t.startsWith(prefix))) {
    const offsets = await topicOffsets(admin, topic);
    if (offsets.some((o) => o.high > o.low)) stages.set(topic.slice(prefix.length), offsets.length);
  }
  return stages;
}

/**
 * Refuses to run a pipeline that would silently drop saved state: every stage the job holds
 * state for must be a stateful stage of the pipeline, by name. A stage new to the pipeline
 * starts empty, which is what adding a stage means.
 */
export function checkStagesMatch(
  saved: Map<string, number>,
  pipelineStages: string[],
  partitions: number,
  where: string,
): void {
  const missing = [...saved.keys()].filter((s) => !pipelineStages.includes(s));
  if (missing.length > 0) {
    throw new SluiceError(
      'SLUICE_STATE_INCOMPATIBLE',
      `${where} holds state for stage${missing.length > 1 ? 's' : ''} ${quoted(missing)}, which the pipeline does not have (its stateful stages: ${pipelineStages.length > 0 ? quoted(pipelineStages) : 'none'}). ` +
        'Give the stateful stage its old name (e.g. aggregate({ name: ... })) and resume, or cancel the job and start a new one.',
      { details: { missing, pipelineStages } },
    );
  }
  const resized = [...saved].filter(([, n]) => n !== partitions).map(([s]) => s);
  if (resized.length > 0) {
    throw new SluiceError(
      'SLUICE_STATE_INCOMPATIBLE',
      `${where} keeps the state of ${quoted(resized)} in ${saved.get(resized[0] ?? '')} partitions, but the pipeline's sources now have ${partitions}; state is partitioned by key, so it cannot move. Keep the source topics' partition count.`,
      { details: { resized, partitions } },
    );
  }
}

/**
 * Refuses to go on when a stage now grouped by the source's key (groupByKey), which no longer
 * reads its repartition topic, has records left there: they were taken from the source already,
 * so nothing would ever count them.
 */
export async function refuseStranded(
  admin: Admin,
  topic: string,
  read: Map<string, bigint>,
  where: string,
  stage: string,
): Promise<void> {
  const left = (await topicOffsets(admin, topic))
    .map((o) => o.high - (read.get(`${topic}:${o.partition}`) ?? o.low))
    .reduce((a, b) => a + (b > 0n ? b : 0n), 0n);
  if (left > 0n)
    throw new SluiceError(
      'SLUICE_STATE_INCOMPATIBLE',
      `${where}: stage "${stage}" had ${left} record(s) in its repartition topic not yet read, but the pipeline now groups it by the source's key (groupByKey), which reads no repartition topic; they would never be counted. Run the job with groupingKey(...) until they are read (its lag is 0), then switch.`,
      { details: { stage, topic, unread: Number(left) } },
    );
}

/**
 * A stage switched to groupByKey on resume reads no repartition topic any more: records its
 * earlier runs left there unread would be lost (see refuseStranded).
 */
export async function refuseStrandedOnResume(
  admin: Admin,
  o: { namespace: string; jobId: string; where: string; inPlace: string[] },
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  for (const stage of o.inPlace) {
    const topic = repartitionTopic(o.namespace, o.jobId, stage);
    if (!existing.has(topic)) continue;
    const read = new Map<string, bigint>();
    for (const p of await admin.committed(stageGroup(o.namespace, o.jobId, stage), [topic]))
      if (BigInt(p.offset) >= 0n) read.set(`${p.topic}:${p.partition}`, BigInt(p.offset));
    await refuseStranded(admin, topic, read, o.where, stage);
  }
}

function quoted(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}
