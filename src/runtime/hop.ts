import { TASK_HEARTBEAT_MS, TASK_SESSION_TIMEOUT_MS } from '../domain/settings.js';
import type { ProcessingGuarantee } from '../domain/status.js';
import type {
  Batch,
  BatchControl as KafkaBatchControl,
  GroupConsumer,
  Kafka,
  Producer,
} from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';
import { NO_METRICS, type JobMetrics } from '../observability/metrics.js';
import type { Clock } from '../domain/clock.js';
import { isTransient, positionOutOfRange, type PositionOutOfRangeError } from '../kafka/errors.js';
import { RetryBudget } from '../kafka/retry.js';
import { ReadFailure, TaskOpenFailure } from './failure.js';
import { HopChunks } from './hop-chunks.js';
import { OutageWatch } from './outage.js';
import type { HopEvents, HopOptions, HopSpec } from './hop-spec.js';
import { HopTasks } from './hop-tasks.js';
import { HopTables } from './join-tables.js';
import { deletedBeforeRead } from './lost-records.js';
import { InputPurge } from './purge.js';
import { ownedIds, type Task } from './task.js';

export type { HopEvents, HopOptions, HopSpec } from './hop-spec.js';

/** Partitions a hop processes at the same time on one worker. */
const PARTITIONS_IN_PARALLEL = 4;

/**
 * Runs one hop on this worker: the partitions of its inputs this worker owns in the hop's
 * consumer group, with state restored from its changelogs, outputs and offsets committed under
 * the job's guarantee, and the first failing record reported, not skipped.
 */
export class Hop {
  private consumer: GroupConsumer | undefined;
  private producer: Producer | undefined;
  private purge: InputPurge | undefined;
  /** Per output partition, the first offset of the last batch this worker committed there (see progress.ts). */
  readonly written = new Map<string, bigint>();
  private readonly taskSet: HopTasks;
  /** The tables the hop's join stages read, followed on this worker. */
  private readonly tables: HopTables;
  private readonly chunks: HopChunks;
  private frozen = false;
  private readonly log: Logger;
  /** Consecutive failures to open tasks, against the retry budget. */
  private readonly openRetry: RetryBudget;
  /** How long the hop has been failing against Kafka, whichever part failed (see outage.ts). */
  private readonly outage: OutageWatch;
  private readonly clock: Clock;

  private readonly kafka: Kafka;
  private readonly spec: HopSpec;
  private readonly guarantee: ProcessingGuarantee;
  private readonly events: HopEvents;
  private readonly metrics: JobMetrics;
  private readonly jobName: string;

  constructor(o: HopOptions) {
    this.jobName = o.jobName;
    ({ kafka: this.kafka, spec: this.spec, guarantee: this.guarantee, events: this.events } = o);
    this.metrics = o.metrics ?? NO_METRICS.job('', '');
    this.log = o.logger.child({ hop: o.spec.index });
    this.clock = o.clock;
    this.openRetry = new RetryBudget(o.spec.retry, () => o.clock.now());
    this.outage = new OutageWatch(o.spec.retry.budgetMs, o.clock, (err, attempts, elapsedMs) => {
      void this.cannotRead(err, attempts, elapsedMs);
    });
    this.taskSet = new HopTasks({
      kafka: o.kafka,
      spec: o.spec,
      guarantee: o.guarantee,
      log: this.log,
      metrics: this.metrics,
      seek: (task, at) => {
        // No committed offset yet: the beginning, as the subscription says. A hop stopping
        // meanwhile has no consumer group left to move.
        if (this.guarantee === 'EXACTLY_ONCE' && !this.frozen)
          this.consumer?.seek(task.topic, task.partition, at.committed ?? String(at.low));
      },
      frozen: () => this.frozen,
      started: () => this.events.started(),
      opened: () => this.outage.succeeded(),
      sweepOnFirstOpen: o.sweepOnFirstOpen ?? false,
    });
    this.tables = new HopTables(o.kafka, o.spec.tables ?? [], this.log, {
      policy: o.spec.retry,
      clock: o.clock,
    });
    this.chunks = new HopChunks({
      ...o,
      log: this.log,
      metrics: this.metrics,
      tasks: this.taskSet,
      written: this.written,
      clients: () => ({ producer: this.producer, consumer: this.consumer }),
      frozen: () => this.frozen,
      freeze: () => this.freeze(),
      outage: this.outage,
      prepare: this.tables.empty ? undefined : (task) => this.tables.catchUp(task),
    });
  }

  /** This worker's tasks of the hop, by `topic:partition`. */
  get tasks(): ReadonlyMap<string, Task> {
    return this.taskSet.tasks;
  }

  async start(): Promise<void> {
    await this.tables.start();
    if (this.guarantee !== 'EXACTLY_ONCE') {
      this.producer = this.kafka.producer();
      await this.producer.connect();
    }
    const consumer = this.kafka.consumer({
      groupId: this.spec.groupId,
      sessionTimeoutMs: TASK_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: TASK_HEARTBEAT_MS,
      // Input deleted before it was read suspends the job, naming it: never skipped unsaid.
      deletedRecords: 'stop',
    });
    this.consumer = consumer;
    const [input] = this.spec.inputs;
    if (this.spec.purgeInput && input !== undefined) {
      const tasks = this.taskSet.tasks;
      this.purge = new InputPurge({
        kafka: this.kafka,
        groupId: this.spec.groupId,
        topic: input,
        owned: () => [...tasks.values()].map((t) => t.partition),
        clock: this.clock,
        log: this.log,
      });
      this.purge.start();
    }
    await consumer.start({
      topics: this.spec.inputs,
      autoCommit: this.guarantee === 'NONE',
      // Each partition is a task with its own transactions; overlapping them hides the commit
      // round trips (measured: exactly-once map 0.42 → 0.59 of the raw loop). One partition's
      // batches never overlap, so a task's records stay in order.
      partitionsInParallel: PARTITIONS_IN_PARALLEL,
      onAssignment: (assignment) => {
        // Joined: whatever kept the consumer from reading is over.
        this.outage.succeeded();
        const owned = ownedIds(assignment);
        this.taskSet.assign(owned);
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
          void this.chunks.commitPast(`${topic}:${partition}`, lastOffset);
      },
      onCrash: (err, restarting) => void this.consumerCrashed(err, restarting),
      eachBatch: async (batch: Batch, control: KafkaBatchControl) => {
        try {
          await this.taskSet.whenReady();
          if (this.frozen) return;
          await this.chunks.process(batch.topic, batch.partition, batch.records, {
            ...control,
            lastDelivered: batch.records.at(-1)?.offset,
            end: batch.lastOffset,
          });
          this.openRetry.succeeded();
        } catch (err) {
          if (!(err instanceof TaskOpenFailure)) throw err;
          await this.openFailed(err, control.heartbeat);
          return;
        }
        // Once per batch, from the fetch's high watermark: no extra request, nothing per record.
        if (!this.frozen) this.metrics.lag(batch.topic, batch.partition, Number(batch.lag));
      },
    });
  }

  /**
   * Tasks that could not be opened: a transient error (a broker away, a leader moving) is
   * retried with backoff within the budget, by failing the batch so that kafkajs delivers it
   * again. Anything else (a changelog record that does not decode), or a spent budget, freezes
   * the hop and reports it: retried for ever, the job would show RUNNING while doing nothing.
   */
  private async openFailed(err: TaskOpenFailure, heartbeat: () => Promise<void>): Promise<void> {
    const delay = isTransient(err.cause) ? this.openRetry.failed() : undefined;
    if (delay !== undefined) {
      this.outage.failed(err.cause);
      this.log.warn(
        { err: err.cause, tasks: err.tasks, retryInMs: delay },
        'could not open tasks; retrying',
      );
      await this.clock.sleep(delay);
      await heartbeat();
      throw err;
    }
    if (this.frozen) return;
    this.freeze();
    const { attempts, elapsedMs } = this.openRetry.spent;
    await this.events.cannotOpen(err, Math.max(1, attempts), elapsedMs, heartbeat);
  }

  /**
   * The consumer crashed: kafkajs gives up on a request after its own retries (a broker away
   * for ~10 s) and restarts the consumer. While it keeps crashing nothing is read, so a crash
   * is a failure of the hop like a failed commit (see OutageWatch). A consumer that does not
   * restart (kafkajs gave up for good, on an error that is not transient) is reported at once:
   * the hop would otherwise stay dead while the job shows RUNNING.
   */
  private consumerCrashed(err: Error, restarting: boolean): void {
    if (this.frozen) return;
    const deleted = positionOutOfRange(err);
    if (deleted) return void this.recordsDeleted(deleted);
    if (restarting && isTransient(err)) {
      this.log.warn({ err, restarting }, 'the consumer crashed; kafkajs restarts it');
      this.outage.failed(err);
      return;
    }
    void this.cannotRead(err, 1, 0);
  }

  /** Freezes the hop and tells the job: Kafka failed it for the whole budget, or for good. */
  private async cannotRead(err: unknown, attempts: number, elapsedMs: number): Promise<void> {
    if (this.frozen) return;
    this.freeze();
    await this.events.cannotRead(
      new ReadFailure(this.spec.inputs, err),
      Math.max(1, attempts),
      elapsedMs,
    );
  }

  /** Records were deleted before this hop read them: the job is told which (lost-records.ts). */
  private async recordsDeleted(err: PositionOutOfRangeError): Promise<void> {
    this.freeze();
    const { groupId, inputs: topics } = this.spec;
    const cause = await deletedBeforeRead(
      this.kafka,
      { groupId, topics, jobName: this.jobName },
      err,
    );
    await this.events.cannotRead(new ReadFailure(topics, cause), 1, 0);
  }

  /** Stops at once: no more batches; consumption paused. */
  freeze(): void {
    this.frozen = true;
    this.outage.stop();
    this.purge?.stop();
    this.consumer?.pause(this.spec.inputs);
  }

  /** Leaves the group and disconnects the producers (see HopTasks.close). */
  async stop(): Promise<void> {
    this.frozen = true;
    this.outage.stop();
    this.purge?.stop();
    await this.consumer?.stop().catch(() => undefined);
    await this.taskSet.close();
    await this.producer?.disconnect().catch(() => undefined);
    await this.tables.stop();
  }
}
