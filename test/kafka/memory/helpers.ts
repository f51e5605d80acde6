import {
  MemoryCluster,
  VirtualClock,
  type MemoryClusterOptions,
} from '../../../src/kafka/memory/index.js';
import type {
  Batch,
  BatchControl,
  BatchEnd,
  ConsumeOptions,
  GroupConsumer,
  Kafka,
} from '../../../src/kafka/port.js';

/** A virtual clock and a traced cluster on it. */
export function setup(options: Partial<MemoryClusterOptions> = {}): {
  clock: VirtualClock;
  cluster: MemoryCluster;
} {
  const clock = new VirtualClock();
  const cluster = new MemoryCluster({ clock, trace: true, ...options });
  return { clock, cluster };
}

/** Sends records (values, keyed by `key` if given) through a fresh plain producer. */
export async function produce(
  kafka: Kafka,
  topic: string,
  values: string[],
  key?: (value: string, i: number) => string | null,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send([
    { topic, messages: values.map((value, i) => ({ key: key ? key(value, i) : null, value })) },
  ]);
}

/** What a recording consumer saw. */
export interface Seen {
  batches: {
    topic: string;
    partition: number;
    values: string[];
    offsets: string[];
    lastOffset: string;
    lag: bigint;
  }[];
  ends: BatchEnd[];
  assignments: Record<string, number[]>[];
  /** Every value handed over, in order. */
  values: string[];
}

/**
 * Starts a consumer that records every batch and, unless `handle` says otherwise, resolves
 * each batch's last record.
 */
export async function record(
  consumer: GroupConsumer,
  topics: string[],
  options: Partial<ConsumeOptions> & {
    handle?: (batch: Batch, control: BatchControl) => Promise<void>;
  } = {},
): Promise<Seen> {
  const seen: Seen = { batches: [], ends: [], assignments: [], values: [] };
  const { handle, onAssignment, onBatchEnd, ...rest } = options;
  await consumer.start({
    topics,
    autoCommit: false,
    onAssignment: (a) => {
      seen.assignments.push(a);
      onAssignment?.(a);
    },
    onBatchEnd: (e) => {
      seen.ends.push(e);
      onBatchEnd?.(e);
    },
    eachBatch: async (batch, control) => {
      const values = batch.records.map((r) => r.value?.toString() ?? 'null');
      seen.batches.push({
        topic: batch.topic,
        partition: batch.partition,
        values,
        offsets: batch.records.map((r) => r.offset),
        lastOffset: batch.lastOffset,
        lag: batch.lag,
      });
      seen.values.push(...values);
      if (handle) await handle(batch, control);
      else control.resolveOffset(batch.records[batch.records.length - 1]?.offset ?? '-1');
    },
    ...rest,
  });
  return seen;
}

/** A promise with its resolver, for handlers that hang until a test lets them go. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
