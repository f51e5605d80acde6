import type { PartitionOffset } from '../domain/cause.js';
import type { Clock } from '../domain/clock.js';
import { SluiceError } from '../domain/errors.js';
import {
  changelogTopic,
  jobGroup,
  repartitionTopic,
  snapshotInputTopic,
  snapshotTopic,
  stageGroup,
} from '../domain/resources.js';
import type { SnapshotCopy, StageCopy } from '../domain/snapshot-copy.js';
import type { JobState } from '../domain/state.js';
import { topicOffsets, withAdmin } from '../kafka/offsets.js';
import type { Admin, Kafka, PartitionOffsets, ProducedRecord } from '../kafka/port.js';
import { readToEnd, type StartOffsets } from '../kafka/read-to-end.js';
import { createTopics, type TopicReplication } from '../kafka/topics.js';

/** Records per send: kafkajs groups a send's records with a quadratic routine. */
const CHUNK = 500;

/** What a copy needs besides Kafka. */
export interface CopySpec {
  namespace: string;
  /** The job to export; suspended, with a committed snapshot. */
  job: JobState;
  name: string;
  /** Ids of the namespace's other jobs: `<ns>.state.a.b.x` is job "a.b"'s topic, not job "a"'s. */
  otherJobIds: string[];
  /** How the snapshot's topics are replicated, like every topic Sluice creates. */
  replication: TopicReplication;
  clock: Clock;
}

/**
 * Copies a suspended job's state into topics of the snapshot's own, and checks the copies by
 * their counts: each stage's changelog, read_committed up to the ends it has now (the stage's
 * `stateOffsets`), record by record into `<ns>.snapshot.<name>.<stage>` (compacted, same
 * partitions and keys), and the records the stage had not read from its repartition topic into
 * `<ns>.snapshot-input.<name>.<stage>` (kept for ever). Leftovers of an earlier attempt that
 * crashed are replaced: nothing in the job log names them, so nothing can use them. Resolves
 * to what the `ExportSnapshot` command carries; the snapshot becomes usable only when the
 * coordinator records that, so a copy cut short by a crash is never used.
 */
export async function copySnapshot(kafka: Kafka, spec: CopySpec): Promise<SnapshotCopy> {
  const { namespace, job, name } = spec;
  if (job.lastSnapshot === null)
    throw new SluiceError('SLUICE_SNAPSHOT_COPY_FAILED', `Job "${job.name}" has no snapshot.`);
  const snapshotId = job.lastSnapshot.snapshotId;
  return withAdmin(kafka, async (admin) => {
    const topics = await admin.listTopics();
    const stages = jobStages(topics, namespace, job.jobId, spec.otherJobIds);
    const sourceOffsets: PartitionOffset[] = (await admin.committed(jobGroup(namespace, job.jobId)))
      .filter((p) => BigInt(p.offset) >= 0n)
      .map(({ topic, partition, offset }) => ({ topic, partition, offset }));
    const copies: StageCopy[] = [];
    for (const stage of stages) {
      const changelog = changelogTopic(namespace, job.jobId, stage);
      const input = repartitionTopic(namespace, job.jobId, stage);
      const target = snapshotTopic(namespace, name, stage);
      const stateEnds = topics.includes(changelog) ? await topicOffsets(admin, changelog) : [];
      const to = { replication: spec.replication, clock: spec.clock };
      const state = await copyTopic(kafka, admin, changelog, target, stateEnds.length, {
        ...to,
        config: { 'cleanup.policy': 'compact' },
        // Exactly the ends the event records as the stage's stateOffsets.
        ends: stateEnds,
      });
      let inputTopic: string | null = null;
      let inputRecords: number[] = [];
      if (topics.includes(input)) {
        inputTopic = snapshotInputTopic(namespace, name, stage);
        const from: StartOffsets = new Map();
        for (const p of await admin.committed(stageGroup(namespace, job.jobId, stage), [input]))
          if (BigInt(p.offset) >= 0n) from.set(`${p.topic}:${p.partition}`, BigInt(p.offset));
        const partitions = (await topicOffsets(admin, input)).length;
        // Not compacted (its keys repeat) and not deleted by time: the snapshot keeps them.
        inputRecords = await copyTopic(kafka, admin, input, inputTopic, partitions, {
          ...to,
          config: { 'retention.ms': '-1' },
          start: from,
        });
      }
      copies.push({
        stage,
        topic: target,
        records: state,
        stateOffsets: stateEnds.map((o) => ({
          topic: changelog,
          partition: o.partition,
          offset: String(o.high),
        })),
        inputTopic,
        inputRecords,
      });
    }
    return { run: job.run, snapshotId, sourceOffsets, stages: copies };
  });
}

/** Deletes the topics of a copy (or a copy cut short) that exist; true if there were any. */
export async function dropTopics(admin: Admin, topics: string[]): Promise<boolean> {
  const existing = new Set(await admin.listTopics());
  const doomed = topics.filter((t) => existing.has(t));
  if (doomed.length > 0) await admin.deleteTopics(doomed);
  return doomed.length > 0;
}

/**
 * Waits until a deleted topic is gone: a broker deletes in the background, and creating the
 * name again before then "succeeds" on the old topic (the adapter takes TOPIC_ALREADY_EXISTS
 * as done), whose leftover records the count check would then refuse.
 */
async function gone(admin: Admin, topic: string, clock: Clock, timeoutMs = 30_000): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  while ((await admin.listTopics()).includes(topic)) {
    if (clock.now() > deadline)
      throw new SluiceError(
        'SLUICE_SNAPSHOT_COPY_FAILED',
        `Topic ${topic}, left by an export cut short, was deleted but is still there after ${timeoutMs / 1000} s. Export again later.`,
        { retryable: true, details: { topic } },
      );
    await clock.sleep(250);
  }
}

/** The job's stateful stages: those with a changelog or a repartition topic. */
function jobStages(topics: string[], namespace: string, jobId: string, others: string[]): string[] {
  const stages = new Set<string>();
  for (const prefix of [
    changelogTopic(namespace, jobId, ''),
    repartitionTopic(namespace, jobId, ''),
  ]) {
    // A longer job id that starts with this one owns the topics that name it.
    const theirs = others
      .filter((id) => id !== jobId && id.startsWith(`${jobId}.`))
      .map((id) => `${prefix.slice(0, -1 - jobId.length)}${id}.`);
    for (const t of topics)
      if (t.startsWith(prefix) && !theirs.some((p) => t.startsWith(p)))
        stages.add(t.slice(prefix.length));
  }
  return [...stages].sort();
}

/**
 * Copies `from` (from `o.start`, up to its ends now) into a fresh `to` with `partitions`
 * partitions, partition for partition, and checks that `to` holds exactly what was read.
 * Returns the records copied per partition. A missing `from` gives an empty copy.
 */
async function copyTopic(
  kafka: Kafka,
  admin: Admin,
  from: string,
  to: string,
  partitions: number,
  o: {
    config: Record<string, string>;
    replication: TopicReplication;
    clock: Clock;
    start?: StartOffsets;
    ends?: PartitionOffsets[];
  },
): Promise<number[]> {
  if (await dropTopics(admin, [to])) await gone(admin, to, o.clock);
  const n = Math.max(partitions, 1);
  await createTopics(admin, [{ topic: to, partitions: n, config: o.config }], o.replication);
  const upTo = o.ends ?? (partitions > 0 ? await topicOffsets(admin, from) : []);
  const ends = new Map(upTo.map((p) => [p.partition, p.high]));
  // Up to the ends named in the export, whatever arrives later: nothing past them is fetched.
  const until: StartOffsets = new Map(
    Array.from({ length: partitions }, (_, p) => [`${from}:${p}`, ends.get(p) ?? 0n]),
  );
  const read: ProducedRecord[][] = Array.from({ length: n }, () => []);
  if (partitions > 0)
    await readToEnd(
      kafka,
      [from],
      (_t, partition, m) =>
        read[partition]?.push({ key: m.key, value: m.value, partition, headers: m.headers }),
      o.start,
      undefined,
      until,
    );
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (const records of read)
      for (let i = 0; i < records.length; i += CHUNK)
        await producer.send([{ topic: to, messages: records.slice(i, i + CHUNK) }]);
  } finally {
    await producer.disconnect();
  }
  const counts = read.map((r) => r.length);
  await verifyCopy(admin, to, counts);
  return counts;
}

/**
 * Checks that a copy holds exactly `counts` records per partition: written without
 * transactions, its end offsets equal them. A retried send that wrote twice, or a copy another
 * exporter wrote over, fails the check.
 */
export async function verifyCopy(admin: Admin, topic: string, counts: number[]): Promise<void> {
  const ends = await topicOffsets(admin, topic);
  const bad = ends.filter((o) => o.low !== 0n || o.high !== BigInt(counts[o.partition] ?? 0));
  if (bad.length > 0 || ends.length !== Math.max(counts.length, 1))
    throw new SluiceError(
      'SLUICE_SNAPSHOT_COPY_FAILED',
      `The copy in ${topic} does not hold what was read (${counts.join(', ')} records per partition; the topic's ends are ${ends.map((o) => `${o.partition}:${o.low}-${o.high}`).join(', ')}). Nothing was exported; export again.`,
      { retryable: true, details: { topic, counts } },
    );
}
