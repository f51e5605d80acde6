import { randomUUID } from 'node:crypto';
import type { EventCodec } from '../codec/log-codec.js';
import { isSluiceError } from '../domain/errors.js';
import type { JobEvent } from '../domain/events.js';
import { topicOffsets, withAdmin } from '../kafka/offsets.js';
import type { GroupConsumer, Kafka } from '../kafka/port.js';
import type { Logger } from '../observability/logger.js';

/** Called for every event, in log order within each partition (so in seq order within a job). */
export type EventHandler = (event: JobEvent) => void | Promise<void>;

/** Options for {@link LogReader}. */
export interface LogReaderOptions {
  kafka: Kafka;
  codec: EventCodec;
  topic: string;
  logger: Logger;
  /** Prefix of the throwaway consumer group (a consumer cannot read without one); never committed. */
  groupPrefix: string;
  /**
   * Called after each batch, e.g. to heartbeat another consumer, or to act once a command's
   * events (written in one transaction, so read in one batch) have all been handed over.
   */
  onProgress?: (eventsRead: number) => Promise<void> | void;
  /**
   * Per partition, the offset to start at (a checkpoint's position); the others start at the
   * beginning. Events before it are skipped even if a fetch made before the seek brings them.
   */
  from?: ReadonlyMap<number, bigint>;
}

/**
 * Reads `<ns>.jobs` from the beginning with read_committed isolation. {@link start} resolves
 * once every event present at start time has been handed over; the reader then keeps following
 * the log until {@link stop}. Nothing is committed: each reader replays the whole history, which
 * is what makes the log the single source of truth.
 */
export class LogReader {
  private consumer: GroupConsumer | undefined;
  private read = 0;

  constructor(private readonly opts: LogReaderOptions) {}

  /** Starts reading; resolves when caught up with the log as it was when called. */
  async start(handler: EventHandler): Promise<void> {
    const { kafka, topic, codec, logger } = this.opts;
    // The last offset to reach per partition (high watermark - 1; it may be a commit marker).
    const from = this.opts.from ?? new Map<number, bigint>();
    const handled = new Map<number, bigint>();
    const targets = new Map(
      (await withAdmin(kafka, (admin) => topicOffsets(admin, topic)))
        .filter((o) => o.high > o.low && o.high > (from.get(o.partition) ?? 0n))
        .map((o) => [o.partition, o.high - 1n]),
    );
    const consumer = kafka.consumer({
      groupId: `${this.opts.groupPrefix}.${randomUUID()}`,
      // A reader is alone in its group: no need to wait for others to join.
      rebalanceTimeoutMs: 10_000,
    });
    this.consumer = consumer;
    /** The event, or null for one that cannot be decoded (said loudly); throws to retry. */
    const decoded = async (
      value: Buffer,
      partition: number,
      offset: string,
    ): Promise<JobEvent | null> => {
      try {
        return await codec.decode(value);
      } catch (err) {
        if (isSluiceError(err) && err.retryable) throw err; // registry down: the batch comes again
        // Only the coordinator writes here, through the registry; an undecodable event means
        // the registry lost a schema. Say so loudly, and keep reading the rest.
        logger.error({ err, partition, offset }, 'undecodable event in the job log');
        return null;
      }
    };
    let caughtUp: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (caughtUp = resolve));
    const check = (): void => {
      if (targets.size === 0) caughtUp();
    };
    check();
    let crashed: ((err: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => (crashed = reject));
    // A crash may come before the race below is set up (a join refused by the authorizer ends
    // while start() still runs): handled here, it is still what the race rejects with.
    failed.catch(() => undefined);
    await consumer.start({
      topics: [topic],
      autoCommit: false,
      onBatchEnd: ({ partition, lastOffset }) => {
        const target = targets.get(partition);
        if (target !== undefined && BigInt(lastOffset) >= target) {
          targets.delete(partition);
          check();
        }
      },
      onCrash: (err, restarting) => {
        if (!restarting) crashed?.(err);
      },
      eachBatch: async (batch, control) => {
        const start = from.get(batch.partition);
        // A fetch made before the seek may have handed over records past the start, which
        // come again once the seek applies: each offset is handed over once.
        const upTo = handled.get(batch.partition);
        for (const message of batch.records) {
          const offset = BigInt(message.offset);
          if ((start !== undefined && offset < start) || (upTo !== undefined && offset <= upTo))
            continue;
          // A tombstone is a purged job's event.
          const event =
            message.value === null
              ? null
              : await decoded(message.value, batch.partition, message.offset);
          if (event) {
            await handler(event);
            this.read++;
          }
          // Only once handled: a batch that throws (the registry down) comes again in full.
          handled.set(batch.partition, offset);
        }
        control.resolveOffset(batch.lastOffset);
        await this.opts.onProgress?.(this.read);
        await control.heartbeat();
      },
    });
    // After start: a seek needs the consumer running; kafkajs applies it before the next fetch.
    for (const [partition, offset] of from) consumer.seek(topic, partition, String(offset));
    await Promise.race([done, failed]);
  }

  /** Events handed over so far. */
  get eventsRead(): number {
    return this.read;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }
}
