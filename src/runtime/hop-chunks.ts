import { FENCED_PAUSE_MS } from '../domain/settings.js';
import { isFenced, isTransient } from '../kafka/errors.js';
import type { ConsumedRecord, GroupConsumer, Producer } from '../kafka/port.js';
import { byTopic, countsAfter, pauseBeating } from './chunk-commit.js';
import { RetryBudget } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import type { JobMetrics } from '../observability/metrics.js';
import { MAX_RECORDS_PER_COMMIT, runChunk } from './chunk.js';
import { CommitFailure } from './failure.js';
import { waitOutRead } from './read-retry.js';
import type { HopTasks } from './hop-tasks.js';
import type { OutageWatch } from './outage.js';
import type { BatchControl, HopOptions } from './hop-spec.js';
import { commitTask, committedPrefix, inTurn, type CommitContext, type Task } from './task.js';

/** What a hop's chunk processing needs of its hop. */
export interface HopChunksOptions extends Omit<HopOptions, 'kafka' | 'logger' | 'metrics'> {
  log: Logger;
  metrics: JobMetrics;
  tasks: HopTasks;
  /** Per output partition, the first offset of the last batch committed there (see progress.ts). */
  written: Map<string, bigint>;
  /** The hop's shared producer (NONE and AT_LEAST_ONCE) and its consumer, once started. */
  clients: () => { producer: Producer | undefined; consumer: GroupConsumer | undefined };
  frozen: () => boolean;
  freeze: () => void;
  /** Told of every commit that failed for a transient reason and of every one that went through. */
  outage: OutageWatch;
  /** Before each chunk, in its task's turn (see ChunkRun.prepare). */
  prepare?: ((task: Task) => Promise<void>) | undefined;
}

/** A commit slower than this is logged (see commitChunk). */
const SLOW_COMMIT_MS = 5_000;

/**
 * A hop's records, chunk by chunk: each run through the stages in its task's turn and
 * committed under the job's guarantee, with a failed commit retried by reopening the task and
 * a failing record reported. Nothing after a failing record is committed.
 */
export class HopChunks {
  private readonly commitRetry: RetryBudget;
  /** For records that could not be read for a reason outside them: the registry out of reach. */
  private readonly readRetry: RetryBudget;
  /** The topics the hop's outputs go to (a branch writes several), for the progress map. */
  private readonly outputTopics: Set<string>;

  constructor(private readonly o: HopChunksOptions) {
    this.outputTopics = new Set(o.spec.outputs.map((t) => t.topic));
    this.commitRetry = new RetryBudget(o.spec.retry, () => o.clock.now());
    this.readRetry = new RetryBudget(o.spec.retry, () => o.clock.now());
  }

  /**
   * Commits a task's offset past `last`, with no outputs: the records up to it were all
   * aborted. kafkajs fetches a partition's next batch only once the one before is resolved, so
   * nothing below `last` is left unprocessed.
   *
   * A failure drops the task, as a chunk's failed commit does (its producer may hold a
   * transaction it cannot end, or be fenced), and, within the retry budget, reopens it after a
   * backoff, and tries again. Left dropped, nothing would reopen it when no records follow (a
   * bounded input's end), and the group's offset would stay short of the end for good: the
   * likely cause of hops that never got through after a leader moved in the 3-broker cluster
   * test, where such commits meet NOT_COORDINATOR.
   */
  async commitPast(id: string, last: string): Promise<void> {
    // The task may still be opening (a fetch of only aborted records comes at once after an
    // assignment, before the restore is done): wait for it rather than drop the commit, or the
    // group's offset stays short of a partition that nothing more is written to.
    if (this.o.frozen()) return;
    await this.o.tasks.whenReady().catch(() => undefined);
    const task = this.o.tasks.tasks.get(id);
    if (!task) return;
    const failed = await inTurn(task, async () => {
      if (this.o.frozen() || this.o.tasks.tasks.get(id) !== task) return undefined;
      if (task.committed !== undefined && BigInt(task.committed) > BigInt(last)) return undefined;
      try {
        await commitTask(task, [], last, this.commitContext());
        return undefined;
      } catch (err) {
        await this.o.tasks.fail(id, task);
        return err;
      }
    }).catch((err: unknown) => err);
    if (failed === undefined) {
      this.o.outage.succeeded();
      return;
    }
    const delay = isTransient(failed) || isFenced(failed) ? this.commitRetry.failed() : undefined;
    if (isTransient(failed)) this.o.outage.failed(failed);
    this.o.log.warn(
      { err: failed, task: id, last, retryInMs: delay },
      delay === undefined
        ? 'could not commit past aborted records; the next batch of the partition tries again'
        : 'could not commit past aborted records; reopening the task',
    );
    if (delay === undefined) return;
    await this.o.clock.sleep(isFenced(failed) ? Math.max(delay, FENCED_PAUSE_MS) : delay);
    if (this.o.frozen()) return;
    // Reopened, and tried again: under AT_LEAST_ONCE no seek brings the markers back. Bounded
    // by the budget, which only a success resets.
    if (await this.o.tasks.taskFor(id).catch(() => undefined)) await this.commitPast(id, last);
  }

  private commitContext(): CommitContext {
    return {
      guarantee: this.o.guarantee,
      groupId: this.o.spec.groupId,
      changelogs: this.o.spec.changelogs,
      ...this.o.clients(),
    };
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
    await this.o.tasks.fail(id, task);
    const delay = isTransient(err) || isFenced(err) ? this.commitRetry.failed() : undefined;
    if (isTransient(err)) this.o.outage.failed(err);
    const first = messages[0];
    if (delay === undefined && first) {
      const { attempts, elapsedMs } = this.commitRetry.spent;
      this.o.log.warn({ err, task: id, attempts, elapsedMs }, 'commit failed; not retried');
      this.o.freeze();
      await this.o.events.failed(
        new CommitFailure(err, Math.max(1, attempts), elapsedMs),
        task.topic,
        task.partition,
        first,
        ctl.heartbeat,
      );
      return 0;
    }
    // Fenced: a new owner took the partition, or the coordinator is stopping the job and
    // appends its event right after fencing. Reopening at once would fence back and could
    // commit after that event; after the pause the event has been read and the hop is frozen.
    const wait = isFenced(err) ? Math.max(delay ?? 0, FENCED_PAUSE_MS) : (delay ?? 0);
    this.o.log.warn({ err, task: id, retryInMs: wait }, 'commit failed; reopening the task');
    await this.o.clock.sleep(wait);
    await ctl.heartbeat();
    return 0;
  }

  /** Splits a batch into chunks (see MAX_RECORDS_PER_COMMIT): short transactions, cheap sends. */
  async process(
    topic: string,
    partition: number,
    messages: ConsumedRecord[],
    ctl: BatchControl,
  ): Promise<void> {
    for (let i = 0; i < messages.length;) {
      if (this.o.frozen() || !ctl.isRunning() || ctl.isStale()) return;
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
    const task = await this.o.tasks.taskFor(`${topic}:${partition}`);
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
    if (this.o.tasks.tasks.get(id) !== task) return 0;
    // A seek still pending (a reopened task) moves the consumer anyway: nothing to skip then.
    const replayed = ctl.isStale() ? 0 : committedPrefix(task, messages);
    if (replayed > 0) {
      const to = messages[replayed - 1]?.offset ?? '';
      this.o.log.warn(
        { task: id, from: messages[0]?.offset, to, committed: task.committed },
        'records below the committed offset delivered again; skipped',
      );
      ctl.resolveOffset(to);
      messages = messages.slice(replayed);
      if (messages.length === 0) return replayed;
    }
    const stopped = (): boolean => !ctl.isRunning() || ctl.isStale();
    const { outputs, unrouted, late, deadLetters, handled, last, failed, failure } = await runChunk(
      {
        ...this.o, // its spec, plan, jobId, policy and prepare
        task,
        messages,
        stopped,
        now: () => this.o.clock.now(),
        pause: (ms) => pauseBeating(this.o.clock, ms, ctl.heartbeat, stopped),
      },
    );
    if (this.o.frozen() && !failed) {
      // Frozen while this chunk ran (the job was suspended or stopped): commit nothing more.
      // Its records are fetched again by whoever runs the job next.
      task.state.rollback();
      return 0;
    }
    const done = messages.findIndex((m) => m.offset === last) + 1;
    if (last !== undefined) {
      // Everything before the failing record is committed: a resume starts exactly at it.
      // Dead letters commit with the outputs: under EXACTLY_ONCE, in the same transaction.
      const topics = [...outputs, ...byTopic(deadLetters)];
      const counts = countsAfter(task.errorCounts, handled);
      // The batch's last record done: commit past the batch's end, as kafkajs's own position
      // is. A transaction's trailing marker, or aborted records, would else leave the group's
      // offset short of the topic's end, and a bounded job would never see itself done.
      const through = last === ctl.lastDelivered && !failed ? ctl.end : last;
      const started = this.o.clock.now();
      try {
        for (const m of await commitTask(task, topics, through, this.commitContext(), counts))
          if (this.outputTopics.has(m.topic))
            this.o.written.set(`${m.topic}:${m.partition}`, BigInt(m.baseOffset));
        this.commitRetry.succeeded();
        this.readRetry.succeeded();
        this.o.outage.succeeded();
        const tookMs = this.o.clock.now() - started;
        // Kafka's clients retry inside a commit: one that spans an outage ends long after the
        // hop may have frozen, and is worth a line when a run is read afterwards.
        if (tookMs > SLOW_COMMIT_MS)
          this.o.log.warn({ task: id, tookMs, frozen: this.o.frozen(), through }, 'slow commit');
      } catch (err) {
        return this.commitFailed(err, task, messages, ctl);
      }
      ctl.resolveOffset(last);
      // A commit is this task's part of a snapshot; the coordinator records the job's snapshots.
      this.o.metrics.snapshot(this.o.clock.now() - started);
      // Counted once committed, so a re-delivered chunk is not counted twice as "processed".
      this.o.metrics.recordsIn(done);
      this.o.metrics.recordsOut(outputs.reduce((n, t) => n + t.messages.length, 0));
      if (unrouted > 0) this.o.metrics.recordsUnrouted(unrouted);
      if (late > 0) this.o.metrics.recordsLate(late);
      for (const h of handled)
        this.o.metrics.errorHandled(h.stage, h.action === 'SKIP' ? 'skipped' : 'dead_lettered');
      this.o.policy?.committed(handled.filter((h) => h.byPolicy));
    }
    await ctl.heartbeat();
    if (failed && (await waitOutRead(this.readRetry, this.o, failure, task, failed, ctl))) return 0;
    if (failed) {
      this.o.freeze();
      await this.o.events.failed(failure, task.topic, task.partition, failed, ctl.heartbeat);
      return 0;
    }
    return done === 0 ? 0 : replayed + done;
  }
}
