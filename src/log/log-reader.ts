import { randomUUID } from 'node:crypto';
import type { EventCodec } from '../codec/log-codec.js';
import { isSluiceError } from '../domain/errors.js';
import type { JobEvent } from '../domain/events.js';
import { topicOffsets, withAdmin } from '../kafka/offsets.js';
import type { GroupConsumer, Kafka, PartitionRange } from '../kafka/port.js';
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
  /** Per partition, the offset to start at (a checkpoint's position); the others start at the beginning. */
  from?: ReadonlyMap<number, bigint>;
}

/** How long a catch-up waits before asking the registry again for a schema it could not reach. */
const DECODE_RETRY_MS = 500;

/**
 * Reads `<ns>.jobs` with read_committed isolation. {@link start} hands over every event present
 * when it is called, reading by offset (no consumer group: it costs nothing to join or leave);
 * {@link follow} then keeps handing over new events, through a throwaway group, until
 * {@link stop}. Nothing is committed: the log is the single source of truth.
 */
export class LogReader {
  private consumer: GroupConsumer | undefined;
  private read = 0;
  private stopped = false;
  /** Per partition, the next offset to hand over: where {@link follow} starts. */
  private readonly next = new Map<number, bigint>();
  private handler: EventHandler | undefined;

  constructor(private readonly opts: LogReaderOptions) {}

  /** Reads the log as it is now; resolves once every event in it has been handed over. */
  async start(handler: EventHandler): Promise<void> {
    const { kafka, topic } = this.opts;
    this.handler = handler;
    const from = this.opts.from ?? new Map<number, bigint>();
    const ranges: PartitionRange[] = [];
    for (const o of await withAdmin(kafka, (admin) => topicOffsets(admin, topic))) {
      const start = from.get(o.partition) ?? o.low;
      const first = start > o.low ? start : o.low;
      this.next.set(o.partition, first > o.high ? first : o.high);
      if (o.high > first) ranges.push({ topic, partition: o.partition, from: first, to: o.high });
    }
    await kafka.readRanges(ranges, async (range, records) => {
      for (const message of records) {
        if (this.stopped) return;
        await this.handOver(message.value, range.partition, message.offset);
      }
      await this.opts.onProgress?.(this.read);
    });
  }

  /**
   * Hands over every event written after what {@link start} read, as it comes, until
   * {@link stop}. Resolves once the follower has joined its group; rejects if it cannot (a
   * group the principal may not read), so a command is not sent that no answer could reach.
   * `onCrash` hears of a follower that stopped for good later.
   */
  async follow(onCrash: (err: Error) => void = () => undefined): Promise<void> {
    const { kafka, topic } = this.opts;
    const consumer = kafka.consumer({
      groupId: `${this.opts.groupPrefix}.${randomUUID()}`,
      // A reader is alone in its group: no need to wait for others to join.
      rebalanceTimeoutMs: 10_000,
    });
    this.consumer = consumer;
    let joined = false;
    let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // A refusal may come while start() still runs; handled here, it is still what we reject with.
    ready.catch(() => undefined);
    await consumer.start({
      topics: [topic],
      autoCommit: false,
      onAssignment: () => {
        // On every join, the first included: each partition goes on from where the handing
        // over stands. Seeking before the group is joined throws in kafkajs, and a refused join
        // must surface as the refusal (onCrash), not as that.
        for (const [partition, offset] of this.next)
          consumer.seek(topic, partition, String(offset));
        joined = true;
        settle?.resolve();
      },
      onCrash: (err, restarting) => {
        if (restarting) return;
        if (joined) onCrash(err);
        else settle?.reject(err);
      },
      eachBatch: async (batch, control) => {
        for (const message of batch.records) {
          // A fetch made before the seek applied, or a consumer that rejoined and starts the
          // partition over, brings events already handed over: each offset goes once.
          const offset = BigInt(message.offset);
          if (offset < (this.next.get(batch.partition) ?? 0n)) continue;
          await this.handOver(message.value, batch.partition, message.offset);
          // Only once handled: a batch that throws (the registry down) comes again in full.
          this.next.set(batch.partition, offset + 1n);
        }
        control.resolveOffset(batch.lastOffset);
        await this.opts.onProgress?.(this.read);
        await control.heartbeat();
      },
    });
    await ready;
  }

  /** Decodes and hands over one record; a tombstone is a purged job's event. */
  private async handOver(value: Buffer | null, partition: number, offset: string): Promise<void> {
    const event = value === null ? null : await this.decoded(value, partition, offset);
    if (event) {
      await this.handler?.(event);
      this.read++;
    }
  }

  /** The event, or null for one that cannot be decoded (said loudly). */
  private async decoded(
    value: Buffer,
    partition: number,
    offset: string,
  ): Promise<JobEvent | null> {
    for (;;) {
      try {
        return await this.opts.codec.decode(value);
      } catch (err) {
        // The registry down: wait for it, as a consumer would hand the batch over again.
        if (isSluiceError(err) && err.retryable && !this.stopped) {
          await new Promise((resolve) => setTimeout(resolve, DECODE_RETRY_MS));
          continue;
        }
        // Only the coordinator writes here, through the registry; an undecodable event means
        // the registry lost a schema. Say so loudly, and keep reading the rest.
        this.opts.logger.error({ err, partition, offset }, 'undecodable event in the job log');
        return null;
      }
    }
  }

  /** Events handed over so far. */
  get eventsRead(): number {
    return this.read;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.stop();
    this.consumer = undefined;
  }
}
