import { TRANSACTION_TIMEOUT_MS } from '../domain/settings.js';
import { SluiceError } from '../domain/errors.js';
import type { JobState } from '../domain/state.js';
import { hasSettledState } from '../domain/status.js';
import {
  changelogKey,
  changelogTopic,
  jobGroup,
  parseChangelogKey,
  repartitionTopic,
  seedTransactionalId,
  stageGroup,
} from '../domain/resources.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Admin, Kafka, PartitionOffset, ProducedRecord } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
import type { Logger } from '../observability/logger.js';

/** Records per send inside the seeding transaction: kafkajs sends are quadratic in size. */
const CHUNK = 500;

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

/** What a new job starts from when its config names an exported snapshot. */
export interface SeedSpec {
  namespace: string;
  /** The new job. */
  jobId: string;
  /** The job the snapshot was exported from. */
  from: JobState;
  snapshotName: string;
  sourceTopics: string[];
  stages: string[];
  /** The stages the new job keeps on its source's partitions (groupByKey), not a repartition topic. */
  inPlace: string[];
  partitions: number;
}

/**
 * Gives a new job the state and positions of an exported snapshot, in one transaction: the
 * source job's changelogs (keys moved to the new job's tasks), the records its stateful stages
 * had not read yet from its repartition topics, and its source offsets as the new job's
 * committed offsets. The committed offsets also mark the seeding done, so every worker of the
 * job may try: the transactional id fences a concurrent seeder, and the check after fencing
 * sees what a finished one committed.
 */
export async function seedFromSnapshot(kafka: Kafka, spec: SeedSpec, log: Logger): Promise<void> {
  const { namespace, jobId, from } = spec;
  const group = jobGroup(namespace, jobId);
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (await seeded(admin, group, spec.sourceTopics)) return;
    if (!hasSettledState(from.status)) {
      throw new SluiceError(
        'SLUICE_STATE_INCOMPATIBLE',
        `Snapshot "${spec.snapshotName}" belongs to job "${from.name}" (${from.jobId}), which is ${from.status}: its state moves on, so it cannot seed another job now. Suspend or cancel "${from.name}", then resume this job.`,
      );
    }
    const saved = await savedStages(admin, namespace, from.jobId);
    checkStagesMatch(saved, spec.stages, spec.partitions, `Snapshot "${spec.snapshotName}"`);
    const producer = kafka.transactionalProducer({
      transactionalId: seedTransactionalId(group),
      transactionTimeoutMs: TRANSACTION_TIMEOUT_MS.seed,
    });
    await producer.init(); // fences a concurrent seeder of the same job
    try {
      if (await seeded(admin, group, spec.sourceTopics)) return;
      const writes = await stateAndInFlight(kafka, admin, spec, [...saved.keys()]);
      const offsets = await sourcePositions(admin, jobGroup(namespace, from.jobId), spec);
      const tx = await producer.begin();
      try {
        for (const [topic, messages] of writes)
          for (let i = 0; i < messages.length; i += CHUNK)
            await tx.send([{ topic, messages: messages.slice(i, i + CHUNK) }]);
        await tx.sendOffsets({ groupId: group }, offsets);
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
      log.info(
        {
          snapshot: spec.snapshotName,
          from: from.jobId,
          records: [...writes.values()].reduce((n, m) => n + m.length, 0),
        },
        'job seeded from an exported snapshot',
      );
    } finally {
      await producer.disconnect();
    }
  } finally {
    await admin.disconnect();
  }
}

/** True once the new job's group holds an offset for any source partition. */
async function seeded(admin: Admin, group: string, topics: string[]): Promise<boolean> {
  return (await admin.committed(group, topics)).some((p) => BigInt(p.offset) >= 0n);
}

/** The writes that carry the source job's state over: per topic, in partition order. */
async function stateAndInFlight(
  kafka: Kafka,
  admin: Admin,
  spec: SeedSpec,
  stages: string[],
): Promise<Map<string, ProducedRecord[]>> {
  const { namespace, jobId, from } = spec;
  const writes = new Map<string, ProducedRecord[]>();
  const add = (topic: string, m: ProducedRecord): void => {
    const list = writes.get(topic) ?? [];
    list.push(m);
    writes.set(topic, list);
  };
  for (const stage of stages) {
    const oldInput = repartitionTopic(namespace, from.jobId, stage);
    const newInput = repartitionTopic(namespace, jobId, stage);
    const target = changelogTopic(namespace, jobId, stage);
    const inPlace = spec.inPlace.includes(stage);
    // The task that holds a key's state is the partition's task of whatever the stage reads:
    // the same partition whether the old job repartitioned or not (see restore.ts).
    const taskTopic = inPlace ? (spec.sourceTopics[0] ?? newInput) : newInput;
    await readToEnd(kafka, [changelogTopic(namespace, from.jobId, stage)], (_t, partition, m) => {
      const key = m.key ? parseChangelogKey(m.key.toString()) : undefined;
      if (!key) return;
      add(target, {
        key: changelogKey(taskTopic, key.partition, key.key),
        value: m.value,
        partition,
      });
    });
    // Records the stage had not read when the job stopped: outputs of the hop before it.
    const group = stageGroup(namespace, from.jobId, stage);
    const start = new Map<string, bigint>();
    for (const p of await admin.committed(group, [oldInput]))
      if (BigInt(p.offset) >= 0n) start.set(`${p.topic}:${p.partition}`, BigInt(p.offset));
    const existing = new Set(await admin.listTopics());
    if (!existing.has(oldInput)) continue;
    if (inPlace) {
      await refuseStranded(admin, oldInput, start, `Snapshot "${spec.snapshotName}"`, stage);
      continue;
    }
    await readToEnd(
      kafka,
      [oldInput],
      (_t, partition, m) =>
        add(newInput, {
          key: m.key,
          value: m.value,
          partition,
          headers: m.headers,
        }),
      start,
    );
  }
  return writes;
}

/** The source job's committed positions on the new job's sources; the beginning elsewhere. */
async function sourcePositions(
  admin: Admin,
  fromGroup: string,
  spec: SeedSpec,
): Promise<PartitionOffset[]> {
  const old = await admin.committed(fromGroup, spec.sourceTopics);
  const result: PartitionOffset[] = [];
  for (const topic of spec.sourceTopics) {
    const committed = new Map(
      old.filter((p) => p.topic === topic).map((p) => [p.partition, BigInt(p.offset)]),
    );
    for (const o of await topicOffsets(admin, topic)) {
      const c = committed.get(o.partition) ?? -1n;
      result.push({ topic, partition: o.partition, offset: String(c >= 0n ? c : o.low) });
    }
  }
  return result;
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
