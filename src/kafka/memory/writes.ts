import { KafkaProtocolError } from '../errors.js';
import type { RecordHeaders, TopicRecords, Written } from '../port.js';
import type { NewRecord, PartitionLog, TxnRef } from './log.js';
import { partitionForKey } from './murmur2.js';
import { unknownTopic } from './protocol.js';
import type { Topics } from './topics.js';

/** The records of one send bound for one partition, in send order. */
export interface PartitionWrite {
  log: PartitionLog;
  records: NewRecord[];
}

/**
 * Where a producer sends records without a key or partition: round-robin per topic, from
 * partition 0 (kafkajs starts at a random partition; this one is deterministic).
 */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  take(topic: string, partitions: number): number {
    const n = this.next.get(topic) ?? 0;
    this.next.set(topic, n + 1);
    return n % partitions;
  }
}

/**
 * Plans a send: each record's partition (its own, else murmur2 of its key, else round-robin)
 * and stored form, grouped by partition in the order partitions are first written. Checks the
 * whole send first, so a send that fails writes nothing: an unknown topic or partition fails
 * UNKNOWN_TOPIC_OR_PARTITION (topics are never created by a send), a record without a key on
 * a compacted topic fails INVALID_RECORD, as Kafka rejects it.
 */
export function planWrites(
  topics: Topics,
  sends: readonly TopicRecords[],
  roundRobin: RoundRobin,
): PartitionWrite[] {
  const writes = new Map<PartitionLog, PartitionWrite>();
  for (const { topic: name, messages } of sends) {
    const topic = topics.require(name);
    const count = topic.logs.length;
    for (const m of messages) {
      const key = bytes(m.key ?? null);
      if (key === null && topic.compacted)
        throw new KafkaProtocolError(
          'INVALID_RECORD',
          `Compacted topic ${name} cannot accept a record without a key`,
          false,
        );
      const partition =
        m.partition ?? (key !== null ? partitionForKey(key, count) : roundRobin.take(name, count));
      if (!Number.isInteger(partition)) throw unknownTopic(name, partition);
      const log = topic.log(partition);
      let write = writes.get(log);
      if (write === undefined) writes.set(log, (write = { log, records: [] }));
      write.records.push({ key, value: bytes(m.value), headers: storedHeaders(m.headers) });
    }
  }
  return [...writes.values()];
}

/** Appends a planned send; where each partition's records begin. */
export function applyWrites(
  writes: readonly PartitionWrite[],
  producerId: number,
  txn: TxnRef | null,
  now: number,
): Written[] {
  return writes.map(({ log, records }) => ({
    topic: log.topic,
    partition: log.partition,
    baseOffset: String(log.append(records, producerId, txn, now)),
  }));
}

/** A traceable summary of a send: `topic/partition@base+count` per partition. */
export function describeWrites(writes: readonly PartitionWrite[], written: Written[]): string {
  return written
    .map((w, i) => `${w.topic}/${w.partition}@${w.baseOffset}+${writes[i]?.records.length ?? 0}`)
    .join(' ');
}

/** Keys and values as consumers get them: Buffers (handed on, never copied) or null. */
function bytes(v: Buffer | string | null): Buffer | null {
  return v === null ? null : typeof v === 'string' ? Buffer.from(v) : v;
}

/** Headers as a consumer reads them back: string values become Buffers, as on the wire. */
function storedHeaders(headers: RecordHeaders | undefined): RecordHeaders {
  const out: RecordHeaders = {};
  if (headers === undefined) return out;
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.map((x) => bytes(x) as Buffer) : (bytes(v) as Buffer);
  }
  return out;
}
