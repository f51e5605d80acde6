import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { EventCodec } from '../codec/log-codec.js';
import { isSluiceError } from '../domain/errors.js';
import type { JobEvent } from '../domain/events.js';
import { consumerConfig } from '../kafka/connect.js';
import { topicOffsets } from '../kafka/offsets.js';
import { restartOnError } from '../kafka/restart.js';
import type { Logger } from '../observability/logger.js';

/** Called for every event, in log order within each partition (so in seq order within a job). */
export type EventHandler = (event: JobEvent) => void | Promise<void>;

/** Options for {@link LogReader}. */
export interface LogReaderOptions {
  kafka: Kafka;
  codec: EventCodec;
  topic: string;
  logger: Logger;
  /** Prefix of the throwaway consumer group (kafkajs cannot read without one); never committed. */
  groupPrefix: string;
  /**
   * Called after each batch, e.g. to heartbeat another consumer, or to act once a command's
   * events (written in one transaction, so read in one batch) have all been handed over.
   */
  onProgress?: (eventsRead: number) => Promise<void> | void;
}

/**
 * Reads `<ns>.jobs` from the beginning with read_committed isolation. {@link start} resolves
 * once every event present at start time has been handed over; the reader then keeps following
 * the log until {@link stop}. Nothing is committed: each reader replays the whole history, which
 * is what makes the log the single source of truth.
 */
export class LogReader {
  private consumer: Consumer | undefined;
  private read = 0;

  constructor(private readonly opts: LogReaderOptions) {}

  /** Starts reading; resolves when caught up with the log as it was when called. */
  async start(handler: EventHandler): Promise<void> {
    const { kafka, topic, codec, logger } = this.opts;
    const admin = kafka.admin();
    await admin.connect();
    let targets: Map<number, bigint>;
    try {
      // The last offset to reach per partition (high watermark - 1; it may be a commit marker).
      const offsets = await topicOffsets(admin, topic);
      targets = new Map(
        offsets.filter((o) => o.high > o.low).map((o) => [o.partition, o.high - 1n]),
      );
    } finally {
      await admin.disconnect();
    }

    const consumer = kafka.consumer(
      consumerConfig({
        groupId: `${this.opts.groupPrefix}.${randomUUID()}`,
        // A reader is alone in its group: no need to wait for others to join.
        rebalanceTimeout: 10_000,
      }),
    );
    this.consumer = consumer;
    let caughtUp: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (caughtUp = resolve));
    const check = (): void => {
      if (targets.size === 0) caughtUp();
    };
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const target = targets.get(payload.partition);
      if (target !== undefined && BigInt(payload.lastOffset) >= target) {
        targets.delete(payload.partition);
        check();
      }
    });
    check();

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let crashed: ((err: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => (crashed = reject));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) crashed?.(payload.error);
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: restartOnError(async ({ batch, heartbeat }) => {
        for (const message of batch.messages) {
          if (message.value === null) continue; // a tombstone: a purged job's event
          let event: JobEvent;
          try {
            event = await codec.decode(message.value);
          } catch (err) {
            if (isSluiceError(err) && err.retryable) throw err; // registry down: kafkajs retries the batch
            // Only the coordinator writes here, through the registry; an undecodable event means
            // the registry lost a schema. Say so loudly, and keep reading the rest.
            logger.error(
              { err, partition: batch.partition, offset: message.offset },
              'undecodable event in the job log',
            );
            continue;
          }
          await handler(event);
          this.read++;
        }
        await this.opts.onProgress?.(this.read);
        await heartbeat();
      }),
    });
    await Promise.race([done, failed]);
  }

  /** Events handed over so far. */
  get eventsRead(): number {
    return this.read;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }
}
