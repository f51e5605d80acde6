import type { Clock } from '../domain/clock.js';
import type { Kafka } from '../kafka/port.js';
import { withRetry, type RetryPolicy } from '../kafka/retry.js';
import type { Logger } from '../observability/logger.js';
import { StageFailure } from './execute.js';
import { appliedOffsets, applyTableUpdates } from './join-table.js';
import { TableFeed } from './join-table-feed.js';
import type { Deserializer } from './serde.js';
import type { Task } from './task.js';

/** A table join of a hop: its stage, the table's topic and how its entries are read. */
export interface HopTable {
  stage: string;
  topic: string;
  deserializer: Deserializer;
}

/**
 * The tables a hop's join stages read, one feed each on this worker, and the catching up of a
 * task's copies before each of its chunks (see runChunk's `prepare`).
 */
export class HopTables {
  private readonly feeds: { stage: string; feed: TableFeed }[];

  constructor(
    kafka: Kafka,
    tables: readonly HopTable[],
    private readonly log: Logger,
    /** How long a catch-up that meets transient Kafka errors is retried (the hop's policy). */
    private readonly retry: { policy: RetryPolicy; clock: Clock },
  ) {
    this.feeds = tables.map((t) => ({
      stage: t.stage,
      feed: new TableFeed(kafka, t.topic, t.deserializer, log.child({ stage: t.stage })),
    }));
  }

  get empty(): boolean {
    return this.feeds.length === 0;
  }

  async start(): Promise<void> {
    for (const { feed } of this.feeds) await feed.start();
  }

  /**
   * Brings the task's copy of each table up to the table's end as of now, in its pending state:
   * the chunk about to run sees every table update committed before its records were fetched.
   * An unreadable entry fails in the join stage (its chunk's first record is reported).
   */
  async catchUp(task: Task): Promise<void> {
    for (const { stage, feed } of this.feeds) {
      // A broker away for a moment is not the record's fault: retried within the hop's budget
      // (the chunk holds no heartbeat meanwhile: a long outage may move the partition, which
      // only delivers its records again). Past the budget, the record fails in the stage.
      await withRetry(
        () => feed.caughtUp(),
        this.retry.policy,
        (err, attempt, delayMs) =>
          this.log.warn({ err, stage, attempt, retryInMs: delayMs }, 'table catch-up retried'),
        this.retry.clock,
      ).catch((err: unknown) => {
        throw new StageFailure(stage, err);
      });
      const from = appliedOffsets(task.state, stage, feed.partitions);
      const { updates, to } = feed.since(from);
      try {
        applyTableUpdates(task.state, stage, from, updates, to);
      } catch (err) {
        throw new StageFailure(stage, err);
      }
    }
  }

  async stop(): Promise<void> {
    for (const { feed } of this.feeds) await feed.stop();
  }
}
