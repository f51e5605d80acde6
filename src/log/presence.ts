import type { Cancel, Clock } from '../domain/clock.js';
import {
  encodePresence,
  foldPresence,
  PRESENCE_VERSION,
  type PresenceTable,
} from '../domain/presence.js';
import { PRESENCE_INTERVAL_MS } from '../domain/settings.js';
import type { Kafka, Producer } from '../kafka/port.js';
import { readToEnd } from '../kafka/read-to-end.js';
import type { Logger } from '../observability/logger.js';

/** What a worker announces, and where. */
export interface PresenceOptions {
  kafka: Kafka;
  /** `<ns>.workers`. */
  topic: string;
  workerId: string;
  /** The fingerprint of each hosted pipeline's code, by pipeline name. */
  pipelines: Record<string, string>;
  clock: Clock;
  logger: Logger;
}

/**
 * A worker's presence on `<ns>.workers`: its record (the pipelines it hosts and their code
 * fingerprints) written at {@link start} and every {@link PRESENCE_INTERVAL_MS} after, and a
 * tombstone at {@link stop}. Presence is advice for a resume's check, not part of running jobs:
 * a write that fails is logged and the next refresh tries again, and a worker whose records
 * stop arriving stops counting as live three intervals later.
 */
export class PresenceBeacon {
  private producer: Producer | undefined;
  private cancel: Cancel | undefined;
  /** Writes in order: a refresh never lands after the tombstone. */
  private writing: Promise<void> = Promise.resolve();
  private startedAt = 0;

  constructor(private readonly o: PresenceOptions) {}

  /** Connects and writes the first record; resolves once it is written (or failed, logged). */
  async start(): Promise<void> {
    this.producer = this.o.kafka.producer();
    await this.producer.connect();
    this.startedAt = this.o.clock.now();
    this.cancel = this.o.clock.every(PRESENCE_INTERVAL_MS, () => void this.beat());
    await this.beat();
  }

  /** Stops refreshing, writes the tombstone (a clean stop counts at once), and disconnects. */
  async stop(): Promise<void> {
    this.cancel?.();
    this.cancel = undefined;
    const producer = this.producer;
    this.producer = undefined;
    if (!producer) return;
    await this.write(producer, null, 'could not write the presence tombstone');
    await producer.disconnect().catch(() => undefined);
  }

  private beat(): Promise<void> {
    const producer = this.producer;
    if (!producer) return Promise.resolve();
    const record = encodePresence({
      v: PRESENCE_VERSION,
      workerId: this.o.workerId,
      pipelines: this.o.pipelines,
      startedAt: this.startedAt,
      seenAt: this.o.clock.now(),
    });
    return this.write(producer, record, 'could not refresh the presence record');
  }

  private write(producer: Producer, value: string | null, failed: string): Promise<void> {
    const { topic, workerId, logger } = this.o;
    this.writing = this.writing.then(() =>
      producer
        .send([{ topic, messages: [{ key: workerId, value }] }])
        .then(() => undefined)
        .catch((err: unknown) => logger.warn({ err, topic }, failed)),
    );
    return this.writing;
  }
}

/**
 * The namespace's presence records as they are now: `<ns>.workers` read from its beginning to
 * its end, folded by worker id. Ask the table which workers are live with `liveWorkers`, at the
 * reader's clock.
 */
export async function readPresence(kafka: Kafka, topic: string): Promise<PresenceTable> {
  const table: PresenceTable = new Map();
  await readToEnd(kafka, [topic], (_t, _p, record) => {
    // Keys are worker ids; a keyless record is not Sluice's.
    if (record.key === null) return;
    foldPresence(table, record.key.toString('utf8'), record.value?.toString('utf8') ?? null);
  });
  return table;
}
