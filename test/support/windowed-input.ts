import { partitionForKey } from '../../src/kafka/memory/murmur2.js';
import { kafkaClient } from './kafka.js';
import type { TimedRecord } from './windows-model.js';
import { RECENT_T0 } from './record-time.js';

// Input for the windowed integration tests: keyed records with event times mostly in order,
// some out of order within the allowed lateness, some far too late, and gaps that end
// sessions. Each record goes to the partition its key hashes to, so the repartition topic
// (keyed by the same key, with as many partitions) holds each partition's records in the
// source's order: the per-task watermark, and so every result, is then determined by the input.

/** One input record: its key, event time (also its Kafka timestamp) and position. */
export interface InputRecord extends TimedRecord {
  i: number;
  partition: number;
}

/** Event times start here (see RECENT_T0: neither deleted by retention nor in the future). */
export const T0 = RECENT_T0;

/** `count` records over `keys` keys and `partitions` partitions. */
export function windowedInput(count: number, keys: number, partitions: number): InputRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const key = `k${i % keys}`;
    let ts = T0 + i * 50 + Math.floor(i / 2_000) * 30_000;
    if (i % 7 === 3) ts -= 1_500; // out of order, mostly within out-of-orderness plus grace
    if (i % 97 === 5) ts -= 20_000; // late for every window
    return { key, ts, i, partition: partitionForKey(Buffer.from(key), partitions) };
  });
}

/**
 * One record per partition far ahead in event time (an hour past T0), under a key of its own
 * that hashes to that partition: it moves the partition's watermark past every window of the
 * input, so they all close. Its own window never closes, so it emits nothing.
 */
export function flushRecords(partitions: number): InputRecord[] {
  const out: InputRecord[] = [];
  for (let n = 0; out.length < partitions; n++) {
    const key = `flush${n}`;
    const partition = partitionForKey(Buffer.from(key), partitions);
    if (!out.some((r) => r.partition === partition))
      out.push({ key, ts: T0 + 3_600_000, i: -1 - n, partition });
  }
  return out;
}

/** Writes the records, each to its partition with its event time as the Kafka timestamp. */
export async function produceTimed(topic: string, records: readonly InputRecord[]): Promise<void> {
  const producer = kafkaClient().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < records.length; i += 500)
    await producer.send({
      topic,
      messages: records.slice(i, i + 500).map((r) => ({
        key: r.key,
        partition: r.partition,
        timestamp: String(r.ts),
        value: JSON.stringify({ k: r.key, ts: r.ts, i: r.i }),
      })),
    });
  await producer.disconnect();
}

/** The records of one partition, in the order written. */
export function ofPartition(records: readonly InputRecord[], p: number): InputRecord[] {
  return records.filter((r) => r.partition === p);
}
