import { SluiceError } from '../domain/errors.js';
import {
  changelogKey,
  changelogTopic,
  jobGroup,
  parseChangelogKey,
  repartitionTopic,
  seedTransactionalId,
  stageGroup,
} from '../domain/resources.js';
import { TRANSACTION_TIMEOUT_MS } from '../domain/settings.js';
import type { SnapshotCopy } from '../domain/snapshot-copy.js';
import type { JobState } from '../domain/state.js';
import { hasSettledState } from '../domain/status.js';
import { topicOffsets } from '../kafka/offsets.js';
import type { Admin, Kafka, PartitionOffset, ProducedRecord } from '../kafka/port.js';
import { readToEnd, type StartOffsets } from '../kafka/read-to-end.js';
import type { Logger } from '../observability/logger.js';
import { checkStagesMatch, refuseStranded, savedStages } from './snapshot-state.js';

/** Records per send inside the seeding transaction: kafkajs sends are quadratic in size. */
const CHUNK = 500;

/** What a new job starts from when its config names an exported snapshot. */
export interface SeedSpec {
  namespace: string;
  /** The new job. */
  jobId: string;
  /** The job the snapshot was exported from. */
  from: JobState;
  snapshotName: string;
  /** The snapshot's own copy of the state; null for a snapshot exported before copies. */
  copy: SnapshotCopy | null;
  sourceTopics: string[];
  stages: string[];
  /** The stages the new job keeps on its source's partitions (groupByKey), not a repartition topic. */
  inPlace: string[];
  partitions: number;
}

/** Where one stage's state and unread inputs are read from. */
interface StageSource {
  stage: string;
  state: string;
  input: string | null;
  /** Where the unread inputs start, per `topic:partition`. */
  inputFrom: StartOffsets;
}

/**
 * Gives a new job the state and positions of an exported snapshot, in one transaction: the
 * snapshot's state (keys moved to the new job's tasks), the records its stateful stages had
 * not read yet, and its source offsets as the new job's committed offsets. A snapshot with a
 * copy is read from its own topics, so it works whatever became of its job since; one
 * exported before copies is read from its job's live topics, as then. The committed offsets
 * also mark the seeding done, so every worker of the job may try: the transactional id fences
 * a concurrent seeder, and the check after fencing sees what a finished one committed.
 */
export async function seedFromSnapshot(kafka: Kafka, spec: SeedSpec, log: Logger): Promise<void> {
  const { namespace, jobId } = spec;
  const group = jobGroup(namespace, jobId);
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (await seeded(admin, group, spec.sourceTopics)) return;
    const plan = spec.copy
      ? await fromCopy(admin, spec, spec.copy)
      : await fromPointer(admin, spec, spec.from);
    checkStagesMatch(plan.saved, spec.stages, spec.partitions, `Snapshot "${spec.snapshotName}"`);
    const producer = kafka.transactionalProducer({
      transactionalId: seedTransactionalId(group),
      transactionTimeoutMs: TRANSACTION_TIMEOUT_MS.seed,
    });
    await producer.init(); // fences a concurrent seeder of the same job
    try {
      if (await seeded(admin, group, spec.sourceTopics)) return;
      const used = plan.sources.filter((s) => plan.saved.has(s.stage));
      const writes = await stateAndInFlight(kafka, admin, spec, used);
      const tx = await producer.begin();
      try {
        for (const [topic, messages] of writes)
          for (let i = 0; i < messages.length; i += CHUNK)
            await tx.send([{ topic, messages: messages.slice(i, i + CHUNK) }]);
        await tx.sendOffsets({ groupId: group }, await plan.offsets());
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
      log.info(
        {
          snapshot: spec.snapshotName,
          from: spec.from.jobId,
          copied: spec.copy !== null,
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

interface SeedPlan {
  /** Stages with state, and their partition counts. */
  saved: Map<string, number>;
  sources: StageSource[];
  offsets: () => Promise<PartitionOffset[]>;
}

/**
 * A snapshot with its own copy: its topics must still hold exactly what the export counted
 * (deleted by hand, or written over by another export, they do not).
 */
async function fromCopy(admin: Admin, spec: SeedSpec, copy: SnapshotCopy): Promise<SeedPlan> {
  const existing = new Set(await admin.listTopics());
  const saved = new Map<string, number>();
  const sources: StageSource[] = [];
  for (const s of copy.stages) {
    const copies: [string | null, number[]][] = [
      [s.topic, s.records],
      [s.inputTopic, s.inputRecords],
    ];
    for (const [topic, counts] of copies) {
      if (topic === null) continue;
      const ends = existing.has(topic) ? await topicOffsets(admin, topic) : [];
      const whole =
        ends.length === Math.max(counts.length, 1) &&
        ends.every((o) => o.high === BigInt(counts[o.partition] ?? 0));
      if (!whole)
        throw unavailable(
          spec.snapshotName,
          `its topic ${topic} is ${existing.has(topic) ? 'not as the export left it' : 'gone'}`,
        );
    }
    if (s.records.some((n) => n > 0)) saved.set(s.stage, s.records.length);
    sources.push({ stage: s.stage, state: s.topic, input: s.inputTopic, inputFrom: new Map() });
  }
  const offsets = async (): Promise<PartitionOffset[]> => {
    const at = new Map(copy.sourceOffsets.map((p) => [`${p.topic}:${p.partition}`, p.offset]));
    return positions(admin, spec.sourceTopics, (topic, p) => at.get(`${topic}:${p}`));
  };
  return { saved, sources, offsets };
}

/**
 * A snapshot exported before copies: a pointer at its job's live topics, which must still be
 * there and still: the job suspended (or ended, and not yet cleaned up).
 */
async function fromPointer(admin: Admin, spec: SeedSpec, from: JobState): Promise<SeedPlan> {
  const { namespace } = spec;
  if (!hasSettledState(from.status)) {
    throw new SluiceError(
      'SLUICE_STATE_INCOMPATIBLE',
      `Snapshot "${spec.snapshotName}" belongs to job "${from.name}" (${from.jobId}), which is ${from.status}: its state moves on, so it cannot seed another job now. Suspend or cancel "${from.name}", then resume this job.`,
    );
  }
  const existing = new Set(await admin.listTopics());
  const named = new Set((from.lastSnapshot?.stateOffsets ?? []).map((p) => p.topic));
  const gone = [...named].filter((t) => !existing.has(t));
  const fromGroup = jobGroup(namespace, from.jobId);
  const committed = await admin.committed(fromGroup, spec.sourceTopics);
  const hadPositions = (from.lastSnapshot?.sourceOffsets.length ?? 0) > 0;
  if (gone.length > 0 || (hadPositions && !committed.some((p) => BigInt(p.offset) >= 0n)))
    throw unavailable(
      spec.snapshotName,
      `it was exported before snapshots kept their own copy, and job "${from.name}" (${from.status}) no longer has the topics and offsets it points at${gone.length > 0 ? ` (${gone.join(', ')})` : ''}`,
    );
  const saved = await savedStages(admin, namespace, from.jobId);
  const sources: StageSource[] = [];
  for (const stage of saved.keys()) {
    const input = repartitionTopic(namespace, from.jobId, stage);
    const inputFrom: StartOffsets = new Map();
    for (const p of await admin.committed(stageGroup(namespace, from.jobId, stage), [input]))
      if (BigInt(p.offset) >= 0n) inputFrom.set(`${p.topic}:${p.partition}`, BigInt(p.offset));
    sources.push({
      stage,
      state: changelogTopic(namespace, from.jobId, stage),
      input: existing.has(input) ? input : null,
      inputFrom,
    });
  }
  const offsets = (): Promise<PartitionOffset[]> => {
    const at = new Map(committed.map((p) => [`${p.topic}:${p.partition}`, p.offset]));
    return positions(admin, spec.sourceTopics, (topic, p) => at.get(`${topic}:${p}`));
  };
  return { saved, sources, offsets };
}

function unavailable(name: string, why: string): SluiceError {
  return new SluiceError(
    'SLUICE_SNAPSHOT_UNAVAILABLE',
    `Snapshot "${name}" cannot seed this job: ${why}. Cancel this job and submit it from another snapshot (\`sluice snapshots\` lists them), or without initialSnapshotName.`,
    { details: { snapshot: name } },
  );
}

/** True once the new job's group holds an offset for any source partition. */
async function seeded(admin: Admin, group: string, topics: string[]): Promise<boolean> {
  return (await admin.committed(group, topics)).some((p) => BigInt(p.offset) >= 0n);
}

/** The writes that carry the snapshot's state over: per topic, in partition order. */
async function stateAndInFlight(
  kafka: Kafka,
  admin: Admin,
  spec: SeedSpec,
  sources: StageSource[],
): Promise<Map<string, ProducedRecord[]>> {
  const { namespace, jobId } = spec;
  const writes = new Map<string, ProducedRecord[]>();
  const add = (topic: string, m: ProducedRecord): void => {
    const list = writes.get(topic) ?? [];
    list.push(m);
    writes.set(topic, list);
  };
  for (const { stage, state, input, inputFrom } of sources) {
    const newInput = repartitionTopic(namespace, jobId, stage);
    const target = changelogTopic(namespace, jobId, stage);
    const inPlace = spec.inPlace.includes(stage);
    // The task that holds a key's state is the partition's task of whatever the stage reads:
    // the same partition whether the old job repartitioned or not (see restore.ts).
    const taskTopic = inPlace ? (spec.sourceTopics[0] ?? newInput) : newInput;
    await readToEnd(kafka, [state], (_t, partition, m) => {
      const key = m.key ? parseChangelogKey(m.key.toString()) : undefined;
      if (!key) return;
      add(target, {
        key: changelogKey(taskTopic, key.partition, key.key),
        value: m.value,
        partition,
      });
    });
    // Records the stage had not read when the job stopped: outputs of the hop before it.
    if (input === null) continue;
    if (inPlace) {
      await refuseStranded(admin, input, inputFrom, `Snapshot "${spec.snapshotName}"`, stage);
      continue;
    }
    await readToEnd(
      kafka,
      [input],
      (_t, partition, m) =>
        add(newInput, { key: m.key, value: m.value, partition, headers: m.headers }),
      inputFrom,
    );
  }
  return writes;
}

/** The snapshot's positions on the new job's sources; the beginning elsewhere. */
async function positions(
  admin: Admin,
  sourceTopics: string[],
  at: (topic: string, partition: number) => string | undefined,
): Promise<PartitionOffset[]> {
  const result: PartitionOffset[] = [];
  for (const topic of sourceTopics) {
    for (const o of await topicOffsets(admin, topic)) {
      const c = BigInt(at(topic, o.partition) ?? -1);
      result.push({ topic, partition: o.partition, offset: String(c >= 0n ? c : o.low) });
    }
  }
  return result;
}
