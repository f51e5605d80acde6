import { FENCED_PAUSE_MS, TASK_HEARTBEAT_MS, TASK_SESSION_TIMEOUT_MS } from '../domain/settings.js';
import type { Clock } from '../domain/clock.js';
import type { ProcessingGuarantee } from '../domain/status.js';
import { isFenced, isTransient } from '../kafka/errors.js';
import type {
  Batch,
  BatchControl as KafkaBatchControl,
  ConsumedRecord,
  GroupConsumer,
  Kafka,
  Producer,
} from '../kafka/port.js';
import { RetryBudget, type RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import { NO_METRICS, type JobMetrics } from '../observability/metrics.js';
import { MAX_RECORDS_PER_COMMIT, runChunk, type ChunkSpec } from './chunk.js';
import { CommitFailure } from './failure.js';
import { openTasks } from './open.js';
import type { ResumePlan } from '../domain/resume-plan.js';
import {
  commitTask,
  committedPrefix,
  inTurn,
  ownedIds,
  type CommitContext,
  type Task,
} from './task.js';

/** Partitions a hop processes at the same time on one worker. */
const PARTITIONS_IN_PARALLEL = 4;

/** What a hop's chunks need of their batch: the consumer's control, and where the batch ends. */
interface BatchControl extends KafkaBatchControl {
  /** The offset of the batch's last record handed to the hop. */
  lastDelivered: string | undefined;
  /** The batch's last offset, past records the hop never sees: commit markers, aborted records. */
  end: string;
}

/** One hop of a job: input topics, the stages up to the next repartition, one output. */
export interface HopSpec extends ChunkSpec {
  index: number;
  inputs: string[];
  changelogs: { topic: string; stage: string }[];
  groupId: string;
  /** How long failing commits are retried before the job is told. */
  retry: RetryPolicy;
}

/** What a hop tells its job runner. */
export interface HopEvents {
  /** The first assignment is restored and processing starts. */
  started(): void;
  /** A record failed; the hop is frozen already. */
  failed(err: unknown, topic: string, partition: number, message: ConsumedRecord): Promise<void>;
}

/** What a hop is made of. */
export interface HopOptions {
  kafka: Kafka;
  spec: HopSpec;
  guarantee: ProcessingGuarantee;
  /** What this run does with the record an earlier run failed on. */
  plan: ResumePlan;
  jobId: string;
  events: HopEvents;
  logger: Logger;
  clock: Clock;
  metrics?: JobMetrics;
}

/**
 * Runs one hop on this worker: the partitions of its inputs this worker owns in the hop's
 * consumer group, with state restored from its changelogs, outputs and offsets committed under
 * the job's guarantee, and the first failing record reported, not skipped.
 */
export class Hop {
  private consumer: GroupConsumer | undefined;
  private producer: Producer | undefined;
  readonly tasks = new Map<string, Task>();
  /** Per output partition, the first offset of the last batch this worker committed there (see progress.ts). */
  readonly written = new Map<string, bigint>();
  private ready: Promise<void> = Promise.resolve();
  /** The partitions the latest assignment gave this worker, once its tasks are being opened. */
  private owned = new Set<string>();
  /** The partitions the newest assignment gives this worker, as soon as it is announced. */
  private announced = new Set<string>();
  private frozen = false;
  private started = false;
  private readonly log: Logger;
  private readonly commitRetry: RetryBudget;
  private readonly sweeps = new Set<string>(); // tasks whose commit failed (see sweep in open.ts)

  private readonly kafka: Kafka;
  private readonly spec: HopSpec;
  private readonly guarantee: ProcessingGuarantee;
  private readonly plan: ResumePlan;
  private readonly jobId: string;
  private readonly events: HopEvents;
  private readonly clock: Clock;
  private readonly metrics: JobMetrics;

  constructor(o: HopOptions) {
    ({ kafka: this.kafka, spec: this.spec, guarantee: this.guarantee, plan: this.plan } = o);
    ({ jobId: this.jobId, events: this.events, clock: this.clock } = o);
    this.metrics = o.metrics ?? NO_METRICS.job('', '');
    this.log = o.logger.child({ hop: o.spec.index });
    this.commitRetry = new RetryBudget(o.spec.retry, () => o.clock.now());
  }

  async start(): Promise<void> {
    if (this.guarantee !== 'EXACTLY_ONCE') {
      this.producer = this.kafka.producer();
      await this.producer.connect();
    }
    const consumer = this.kafka.consumer({
      groupId: this.spec.groupId,
      sessionTimeoutMs: TASK_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: TASK_HEARTBEAT_MS,
    });
    this.consumer = consumer;
    await consumer.start({
      topics: this.spec.inputs,
      autoCommit: this.guarantee === 'NONE',
      // Each partition is a task with its own transactions; overlapping them hides the commit
      // round trips (measured: exactly-once map 0.42 → 0.59 of the raw loop). One partition's
      // batches never overlap, so a task's records stay in order.
      partitionsInParallel: PARTITIONS_IN_PARALLEL,
      onAssignment: (assignment) => {
        const owned = ownedIds(assignment);
        this.announced = owned;
        // Joins can overlap (a rebalance during a slow restore). Run assignments one after the
        // other: two at once would open two producers with one transactional id, and the
        // fenced one could end up owning the task, failing every commit from then on.
        this.ready = this.ready.catch(() => undefined).then(() => this.onAssignment(owned));
        // Awaited by every batch (which rethrows to the consumer); logged here for when none comes.
        this.ready.catch((err: unknown) =>
          this.log.warn({ err }, 'could not open the assigned tasks'),
        );
        // A rebalance drops the lag series of the partitions that moved to another worker,
        // which reports them from now on.
        this.metrics.assigned(this.spec.inputs, owned);
      },
      // A fetch of only aborted records or markers is never handed over; the consumer only
      // moves its own position past them. The group's offset must move too (see commitPast):
      // a later hop's wait on a failure and a bounded job's completion check compare it with
      // the end.
      onBatchEnd: ({ topic, partition, size, firstOffset, lastOffset }) => {
        if (size === 0 && firstOffset !== null && this.guarantee !== 'NONE')
          void this.commitPast(`${topic}:${partition}`, lastOffset);
      },
      eachBatch: async (batch: Batch, control: KafkaBatchControl) => {
        await this.whenReady();
        if (this.frozen) return;
        await this.process(batch.topic, batch.partition, batch.records, {
          ...control,
          lastDelivered: batch.records.at(-1)?.offset,
          end: batch.lastOffset,
        });
        // Once per batch, from the fetch's high watermark: no extra request, nothing per record.
        if (!this.frozen) this.metrics.lag(batch.topic, batch.partition, Number(batch.lag));
      },
    });
  }

  /**
   * Waits for the assignments' tasks to open. An opening that failed (a transient error from
   * `init()`, say) fails this batch, and the batch comes again; it must not fail every batch
   * from then on: without a rebalance no new assignment replaces it, so the partitions would
   * stall. The tasks it left unopened are opened by {@link taskFor}, batch by batch.
   */
  private async whenReady(): Promise<void> {
    const ready = this.ready;
    try {
      await ready;
    } catch (err) {
      if (this.ready === ready) this.ready = Promise.resolve();
      throw err;
    }
  }

  /** Stops at once: no more batches; consumption paused. */
  freeze(): void {
    this.frozen = true;
    this.consumer?.pause(this.spec.inputs);
  }

  /** Leaves the group; open transactions are aborted by disconnecting their producers. */
  async stop(): Promise<void> {
    this.frozen = true;
    await this.consumer?.stop().catch(() => undefined);
    await Promise.all(
      [...this.tasks.values()].map(async (t) => {
        await t.producer?.disconnect().catch(() => undefined);
      }),
    );
    await this.producer?.disconnect().catch(() => undefined);
    this.tasks.clear();
  }

  private async onAssignment(owned: Set<string>): Promise<void> {
    this.owned = owned;
    for (const [id, task] of this.tasks) {
      if (!owned.has(id)) await this.dropTask(id, task);
    }
    await this.openTasks([...owned].filter((i) => !this.tasks.has(i)));
    this.announceStart();
  }

  /** Tells the runner once that processing starts: after the first assignment's tasks opened. */
  private announceStart(): void {
    if (!this.started) {
      this.started = true;
      this.events.started();
    }
  }

  private async dropTask(id: string, task: Task): Promise<void> {
    this.tasks.delete(id);
    await task.producer?.disconnect().catch(() => undefined);
  }

  /** Opens tasks (see open.ts); under EXACTLY_ONCE the consumer moves to where the group stands. */
  private async openTasks(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const opened = await openTasks(
      this.kafka,
      {
        ...this.spec,
        guarantee: this.guarantee,
        sweep: this.sweeps,
        stillOwned: (id) => !this.frozen && this.announced.has(id),
      },
      ids,
      (task, at) => {
        // No committed offset yet: the beginning, as the subscription says. A hop stopping
        // meanwhile has no consumer group left to move.
        if (this.guarantee === 'EXACTLY_ONCE' && !this.frozen)
          this.consumer?.seek(task.topic, task.partition, at.committed ?? String(at.low));
      },
      this.log,
      (done, total) => this.metrics.restore(done, total),
    );
    for (const [id, task] of opened) this.tasks.set(id, task);
    for (const id of opened.keys()) this.sweeps.delete(id);
    // The first assignment's opening may have failed and left its tasks to taskFor.
    this.announceStart();
  }

  /**
   * Commits a task's offset past `last`, with no outputs: the records up to it were all
   * aborted. kafkajs fetches a partition's next batch only once the one before is resolved, so
   * nothing below `last` is left unprocessed. A failure only leaves the offset behind: the
   * records are filtered out again by whoever reads from there.
   */
  private async commitPast(id: string, last: string): Promise<void> {
    const task = this.tasks.get(id);
    if (!task) return;
    await inTurn(task, async () => {
      if (this.frozen || this.tasks.get(id) !== task) return;
      if (task.committed !== undefined && BigInt(task.committed) > BigInt(last)) return;
      try {
        await commitTask(task, [], last, this.commitContext());
      } catch (err) {
        // As after a chunk's failed commit: the producer may hold a transaction it cannot end
        // (a commit whose answer was lost) or be fenced. The next chunk reopens the task.
        await this.dropTask(id, task);
        if (this.guarantee === 'EXACTLY_ONCE') this.sweeps.add(id);
        throw err;
      }
    }).catch((err: unknown) =>
      this.log.debug({ err, task: id, last }, 'could not commit past aborted records'),
    );
  }

  private commitContext(): CommitContext {
    return {
      guarantee: this.guarantee,
      groupId: this.spec.groupId,
      changelogs: this.spec.changelogs,
      producer: this.producer,
      consumer: this.consumer,
    };
  }

  /**
   * The task of an owned partition. One whose commit failed was dropped (its producer may be
   * fenced, its memory ahead of Kafka); it is opened afresh here, from the committed state, and
   * the unresolved records are fetched again.
   */
  private async taskFor(id: string): Promise<Task | undefined> {
    if (!this.tasks.has(id) && this.owned.has(id)) {
      this.ready = this.ready.catch(() => undefined).then(() => this.openTasks([id]));
      await this.ready;
    }
    return this.tasks.get(id);
  }

  /**
   * A chunk that could not be committed is not resolved, so kafkajs fetches it again and a
   * reopened task (fresh producer, state and position from Kafka) processes it anew. Transient
   * errors and fencing are retried with backoff within the budget; anything else, or a spent
   * budget, freezes the hop and reports the chunk's first record: nothing after it is committed.
   */
  private async commitFailed(
    err: unknown,
    task: Task,
    messages: ConsumedRecord[],
    ctl: BatchControl,
  ): Promise<0> {
    const id = `${task.topic}:${task.partition}`;
    await this.dropTask(id, task);
    if (this.guarantee === 'EXACTLY_ONCE') this.sweeps.add(id); // see sweep in open.ts
    const delay = isTransient(err) || isFenced(err) ? this.commitRetry.failed() : undefined;
    const first = messages[0];
    if (delay === undefined && first) {
      const { attempts, elapsedMs } = this.commitRetry.spent;
      this.freeze();
      await this.events.failed(
        new CommitFailure(err, Math.max(1, attempts), elapsedMs),
        task.topic,
        task.partition,
        first,
      );
      return 0;
    }
    // Fenced: a new owner took the partition, or the coordinator is stopping the job and
    // appends its event right after fencing. Reopening at once would fence back and could
    // commit after that event; after the pause the event has been read and the hop is frozen.
    const wait = isFenced(err) ? Math.max(delay ?? 0, FENCED_PAUSE_MS) : (delay ?? 0);
    this.log.warn({ err, task: id, retryInMs: wait }, 'commit failed; reopening the task');
    await this.clock.sleep(wait);
    await ctl.heartbeat();
    return 0;
  }

  /** Splits a batch into chunks (see MAX_RECORDS_PER_COMMIT): short transactions, cheap sends. */
  private async process(
    topic: string,
    partition: number,
    messages: ConsumedRecord[],
    ctl: BatchControl,
  ): Promise<void> {
    for (let i = 0; i < messages.length;) {
      if (this.frozen || !ctl.isRunning() || ctl.isStale()) return;
      const done = await this.processChunk(
        topic,
        partition,
        messages.slice(i, i + MAX_RECORDS_PER_COMMIT),
        ctl,
      );
      if (done === 0) return;
      i += done;
    }
  }

  /**
   * Processes and commits one chunk, in its task's turn: how many of its records are done (a
   * chunk cut short by its time bound leaves the rest to the next), 0 when the hop stopped or froze.
   */
  private async processChunk(
    topic: string,
    partition: number,
    messages: ConsumedRecord[],
    ctl: BatchControl,
  ): Promise<number> {
    const task = await this.taskFor(`${topic}:${partition}`);
    return task ? inTurn(task, () => this.commitChunk(task, messages, ctl)) : 0;
  }

  private async commitChunk(
    task: Task,
    messages: ConsumedRecord[],
    ctl: BatchControl,
  ): Promise<number> {
    const id = `${task.topic}:${task.partition}`;
    // Dropped while this chunk waited for its turn (a failed commit past aborted records): its
    // records come again, to the reopened task.
    if (this.tasks.get(id) !== task) return 0;
    // A seek still pending (a reopened task) moves the consumer anyway: nothing to skip then.
    const replayed = ctl.isStale() ? 0 : committedPrefix(task, messages);
    if (replayed > 0) {
      const to = messages[replayed - 1]?.offset ?? '';
      this.log.warn(
        { task: id, from: messages[0]?.offset, to, committed: task.committed },
        'records below the committed offset delivered again; skipped',
      );
      ctl.resolveOffset(to);
      messages = messages.slice(replayed);
      if (messages.length === 0) return replayed;
    }
    const { outputs, deadLetters, last, failed, failure } = await runChunk(
      this.spec,
      this.plan,
      this.jobId,
      task,
      messages,
      () => !ctl.isRunning() || ctl.isStale(),
      () => this.clock.now(),
    );
    if (this.frozen && !failed) {
      // Frozen while this chunk ran (the job was suspended or stopped): commit nothing more.
      // Its records are fetched again by whoever runs the job next.
      task.state.rollback();
      return 0;
    }
    const handled = messages.findIndex((m) => m.offset === last) + 1;
    if (last !== undefined) {
      // Everything before the failing record is committed: a resume starts exactly at it.
      const topics = [{ topic: this.spec.output.topic, messages: outputs }];
      if (this.plan.deadLetterTopic)
        topics.push({ topic: this.plan.deadLetterTopic, messages: deadLetters });
      // The batch's last record done: commit past the batch's end, as kafkajs's own position
      // is. A transaction's trailing marker, or aborted records, would else leave the group's
      // offset short of the topic's end, and a bounded job would never see itself done.
      const through = last === ctl.lastDelivered && !failed ? ctl.end : last;
      const started = this.clock.now();
      try {
        for (const m of await commitTask(task, topics, through, this.commitContext()))
          if (m.topic === this.spec.output.topic)
            this.written.set(`${m.topic}:${m.partition}`, BigInt(m.baseOffset));
        this.commitRetry.succeeded();
      } catch (err) {
        return this.commitFailed(err, task, messages, ctl);
      }
      ctl.resolveOffset(last);
      // A commit is this task's part of a snapshot; the coordinator records the job's snapshots.
      this.metrics.snapshot(this.clock.now() - started);
      // Counted once committed, so a re-delivered chunk is not counted twice as "processed".
      this.metrics.recordsIn(handled);
      this.metrics.recordsOut(outputs.length);
    }
    await ctl.heartbeat();
    if (failed) {
      this.freeze();
      await this.events.failed(failure, task.topic, task.partition, failed);
      return 0;
    }
    return handled === 0 ? 0 : replayed + handled;
  }
}
