import type { Kafka } from '../kafka/port.js';
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

  constructor(kafka: Kafka, tables: readonly HopTable[], log: Logger) {
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
      await feed.caughtUp();
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
