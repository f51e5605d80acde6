import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { jobGroup, repartitionTopic, stageGroup } from '../../src/domain/resources.js';
import type { ConsumedRecord } from '../../src/kafka/port.js';
import { readAll } from './records.js';

// "Nothing more happened" is read, not slept: a job's consumer groups say when every output of
// its input is committed (they committed through their topics' ends), or when nothing of the
// job runs any more (its groups have no members). Either makes the sink's end final.

/** One hop of a job, as its progress is read: its consumer group and the topic it reads. */
export interface Hop {
  group: string;
  topic: string;
}

/**
 * A job's hops in order: the source hop on `input`, then one per stateful stage after a
 * `groupingKey` (in pipeline order), on its repartition topic.
 */
export function jobHops(
  namespace: string,
  jobId: string,
  input: string,
  stages: string[] = [],
): Hop[] {
  return [
    { group: jobGroup(namespace, jobId), topic: input },
    ...stages.map((stage) => ({
      group: stageGroup(namespace, jobId, stage),
      topic: repartitionTopic(namespace, jobId, stage),
    })),
  ];
}

/**
 * True once `groupId` has committed, on every partition of `topic` that holds anything, the
 * topic's end offset. Under exactly-once a group's offsets are committed in the same
 * transaction as the outputs of the records before them, so from then on the outputs of every
 * record in `topic` are committed, and reading the sink to its read_committed end shows all
 * there will ever be for them: "nothing more" is read, not waited for. A topic written in
 * transactions ends in a commit marker, which the group passes too (a task commits through the
 * end of the batch that held it), so a transaction still open, or committed with its marker
 * not yet written, keeps the group short of the end.
 */
export async function committedThroughEnd(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return ends.every((e) => {
    const high = BigInt(e.high);
    if (high === BigInt(e.low)) return true; // nothing to read there
    const at = committed?.partitions.find((p) => p.partition === e.partition)?.offset;
    return at !== undefined && BigInt(at) >= high;
  });
}

/**
 * Where a group stands on each partition of a topic, against the partition's ends: for the
 * message of a test that timed out waiting for {@link committedThroughEnd}.
 */
export async function groupStanding(admin: Admin, groupId: string, topic: string): Promise<string> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return ends
    .map((e) => {
      const at = committed?.partitions.find((p) => p.partition === e.partition)?.offset;
      return `${topic}:${e.partition} committed ${at ?? 'none'} of ${e.low}..${e.high}`;
    })
    .join('; ');
}

/**
 * True once every hop, taken in order, has committed through its topic's end: the outputs of
 * every record of the input are then committed. Each later hop's end is read after the hop
 * before it was through, so it holds all that hop will write for the input.
 */
export async function throughEnds(admin: Admin, hops: Hop[]): Promise<boolean> {
  for (const hop of hops)
    if (!(await committedThroughEnd(admin, hop.group, hop.topic))) return false;
  return true;
}

/**
 * True once none of the hops' groups has a member: no task of the job runs on any worker. A
 * worker stops a job's tasks by freezing its hops, then leaving their groups (kafkajs first
 * waits for the batch in hand, and so for its commit), so from then on nothing more is written
 * for the job until a resume or a restart starts new tasks.
 */
export async function noTasks(admin: Admin, hops: Hop[]): Promise<boolean> {
  const { groups } = await admin.describeGroups(hops.map((h) => h.group));
  return groups.every((g) => g.members.length === 0);
}

/** Polls `check` every 200 ms until it holds; fails naming `what` after the timeout. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * Everything `output` will ever hold for the job's input so far: waits until every hop is
 * through its topic's end, then reads `output` to its read_committed end (which waits out any
 * transaction still open there).
 */
export async function outputsWhenThrough(
  admin: Admin,
  hops: Hop[],
  output: string,
  timeoutMs = 60_000,
  brokers?: string[],
): Promise<ConsumedRecord[]> {
  await until(
    () => throughEnds(admin, hops),
    `the job through its input (${hops[0]?.topic})`,
    timeoutMs,
  );
  return readAll(output, brokers);
}
