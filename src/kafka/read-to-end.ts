import { topicOffsets, withAdmin } from './offsets.js';
import type { ConsumedRecord, Kafka, PartitionRange } from './port.js';

/** Where to start reading a partition (`topic:partition`); partitions not named start at their beginning. */
export type StartOffsets = Map<string, bigint>;

/**
 * Reads the topics, read_committed, from `from` (or their beginning) up to the end offsets they
 * have when the call starts (or, for a partition named in `until`, up to that offset, exclusive),
 * and returns once every partition got there. It reads by offset, with no consumer group
 * ({@link Kafka.readRanges}). If `onRecord` throws, the read stops and rejects with its error.
 */
export async function readToEnd(
  kafka: Kafka,
  topics: string[],
  onRecord: (topic: string, partition: number, record: ConsumedRecord) => void,
  from: StartOffsets = new Map(),
  progress: (done: number, total: number) => void = () => undefined,
  until: StartOffsets = new Map(),
): Promise<void> {
  if (topics.length === 0) return;
  const ranges: PartitionRange[] = [];
  await withAdmin(kafka, async (admin) => {
    for (const topic of topics) {
      for (const o of await topicOffsets(admin, topic)) {
        const id = `${topic}:${o.partition}`;
        const start = from.get(id) ?? o.low;
        const cap = until.get(id);
        const end = cap !== undefined && cap < o.high ? cap : o.high;
        const first = start > o.low ? start : o.low;
        if (end > first) ranges.push({ topic, partition: o.partition, from: first, to: end });
      }
    }
  });
  // Progress counts offsets, not records: compaction leaves gaps, so records have no known total.
  let total = 0;
  for (const r of ranges) total += Number(r.to - r.from);
  let done = 0;
  progress(0, total);
  const reached = new Map<PartitionRange, bigint>();
  await kafka.readRanges(ranges, (range, records, next) => {
    for (const record of records) onRecord(range.topic, range.partition, record);
    done += Number(next - (reached.get(range) ?? range.from));
    reached.set(range, next);
    progress(done, total);
  });
}

/**
 * The record at `offset` of one partition, read_committed, or undefined when there is none to
 * read there: deleted (retention, `deleteRecords`), compacted away, aborted, a transaction
 * marker, or past the end. One range of one offset is read; nothing else.
 */
export async function readRecord(
  kafka: Kafka,
  topic: string,
  partition: number,
  offset: bigint,
): Promise<ConsumedRecord | undefined> {
  const ends = (await withAdmin(kafka, (admin) => topicOffsets(admin, topic))).find(
    (o) => o.partition === partition,
  );
  // Below the log start a fetch is refused (OFFSET_OUT_OF_RANGE): the record was deleted.
  if (!ends || offset < ends.low || offset >= ends.high) return undefined;
  let found: ConsumedRecord | undefined;
  await kafka.readRanges([{ topic, partition, from: offset, to: offset + 1n }], (_r, records) => {
    found ??= records.find((r) => BigInt(r.offset) === offset);
  });
  return found;
}
