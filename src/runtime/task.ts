import type { ProcessingGuarantee } from '../domain/status.js';
import type {
  ConsumedRecord,
  GroupConsumer,
  Producer,
  ProducedRecord,
  TopicRecords,
  TransactionalProducer,
  Written,
} from '../kafka/port.js';
import type { StateStore } from './state-store.js';
import { changelogKey } from '../domain/resources.js';
import { countsMetadata, type ErrorCounts } from '../domain/error-counts.js';

/** One source partition owned by this worker, with its state. */
export interface Task {
  topic: string;
  partition: number;
  state: StateStore;
  /** EXACTLY_ONCE only: this task's transactional producer (its id fences a zombie owner). */
  producer?: TransactionalProducer;
  /** The next offset to read, as last committed. */
  committed: string | undefined;
  /**
   * What the task skipped and dead-lettered, per stage, as last committed: every offset commit
   * carries it as metadata (domain/error-counts.ts), so a commit without new counts keeps these.
   */
  errorCounts: ErrorCounts;
  /** The task's work in flight: its commits run one at a time (see `inTurn`). */
  turn?: Promise<void>;
}

/**
 * Runs `work` once the task's earlier work has finished. A task's producer holds one
 * transaction at a time, and a chunk and a commit past aborted records can be due at once.
 */
export function inTurn<T>(task: Task, work: () => Promise<T>): Promise<T> {
  const result = (task.turn ?? Promise.resolve()).then(work);
  task.turn = result.then(
    () => undefined,
    () => undefined,
  );
  return result;
}

/**
 * How many of `messages`, from the first, lie below the task's committed offset. The task's
 * memory already holds their effect, so applying them again would count them twice; yet kafkajs
 * can deliver them again to a task kept across a rejoin (after a broker restart, say), starting
 * from an offset the group coordinator reports behind the task's own last commit.
 */
export function committedPrefix(task: Task, messages: ConsumedRecord[]): number {
  if (task.committed === undefined) return 0;
  const committed = BigInt(task.committed);
  const first = messages.findIndex((m) => BigInt(m.offset) >= committed);
  return first === -1 ? messages.length : first;
}

/** What a commit needs to know about its job. */
export interface CommitContext {
  guarantee: ProcessingGuarantee;
  groupId: string;
  changelogs: { topic: string; stage: string }[];
  /** The shared producer (NONE and AT_LEAST_ONCE). */
  producer: Producer | undefined;
  consumer: GroupConsumer | undefined;
}

/**
 * Commits a task's outputs, its pending state writes (to the changelogs) and its source
 * offset up to `last`, under the job's guarantee. On failure the pending state is dropped, so
 * memory matches what Kafka holds, and the error is rethrown for kafkajs to re-deliver.
 * Resolves to where the records went: one entry per partition written, with its first offset.
 * `counts` are the task's error counts once this commits (its current ones by default).
 */
export async function commitTask(
  task: Task,
  outputs: TopicRecords[],
  last: string,
  ctx: CommitContext,
  counts: ErrorCounts = task.errorCounts,
): Promise<Written[]> {
  let written: Written[] = [];
  const next = (BigInt(last) + 1n).toString();
  const metadata = countsMetadata(counts);
  const topicMessages = [...outputs, ...changelogMessages(task, ctx.changelogs)].filter(
    (t) => t.messages.length > 0,
  );
  if (ctx.guarantee === 'EXACTLY_ONCE') {
    const tx = await (task.producer as TransactionalProducer).begin();
    try {
      if (topicMessages.length > 0) written = await tx.send(topicMessages);
      // With the member's generation: a worker that lost the partition in a rebalance cannot
      // commit it (KIP-447), on top of the fencing by transactional id.
      await tx.sendOffsets(ctx.consumer?.groupMetadata() ?? { groupId: ctx.groupId }, [
        { topic: task.topic, partition: task.partition, offset: next, metadata },
      ]);
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      task.state.rollback();
      throw err;
    }
  } else {
    try {
      if (topicMessages.length > 0) written = await (ctx.producer as Producer).send(topicMessages);
      // AT_LEAST_ONCE: outputs and state are acknowledged before the offset is committed.
      if (ctx.guarantee === 'AT_LEAST_ONCE')
        await ctx.consumer?.commit([
          { topic: task.topic, partition: task.partition, offset: next, metadata },
        ]);
    } catch (err) {
      task.state.rollback();
      throw err;
    }
  }
  task.state.commit();
  task.committed = next;
  task.errorCounts = counts;
  return written;
}

/** The task's pending state as changelog records: keyed by task and grouping key, in the task's partition. */
function changelogMessages(
  task: Task,
  changelogs: { topic: string; stage: string }[],
): TopicRecords[] {
  const byStage = new Map<string, ProducedRecord[]>();
  for (const w of task.state.changelogWrites()) {
    const list = byStage.get(w.stage) ?? [];
    list.push({
      key: changelogKey(task.topic, task.partition, w.key),
      // A deleted key (an expired window's, a table join's entry gone) is a tombstone: restored
      // as absent, and removed by compaction.
      value: w.value === undefined ? null : JSON.stringify(w.value),
      partition: task.partition,
    });
    byStage.set(w.stage, list);
  }
  return changelogs
    .filter((c) => byStage.has(c.stage))
    .map((c) => ({ topic: c.topic, messages: byStage.get(c.stage) ?? [] }));
}

export function ownedIds(assignment: Record<string, number[]>): Set<string> {
  const owned = new Set<string>();
  for (const [topic, partitions] of Object.entries(assignment))
    for (const p of partitions) owned.add(`${topic}:${p}`);
  return owned;
}

export function splitTask(id: string): [string, number] {
  const i = id.lastIndexOf(':');
  return [id.slice(0, i), Number(id.slice(i + 1))];
}
