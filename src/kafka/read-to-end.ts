import { randomUUID } from 'node:crypto';
import { READ_GROUP_PREFIX } from '../domain/resources.js';
import { topicOffsets, withAdmin } from './offsets.js';
import type { ConsumedRecord, Kafka } from './port.js';

/** Where to start reading a partition (`topic:partition`); partitions not named start at their beginning. */
export type StartOffsets = Map<string, bigint>;

/**
 * Reads the topics, read_committed, from `from` (or their beginning) up to the end offsets they
 * have when the call starts (or, for a partition named in `until`, up to that offset, exclusive),
 * and returns once every partition got there. A group consumer
 * cannot be assigned partitions by hand, so a throwaway group subscribes from the beginning and
 * records before a partition's start are skipped. If `onRecord` throws, the read stops and
 * rejects with its error.
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
  // The last offset to reach per partition. A transaction's commit marker takes the last
  // offset and is never delivered, but the batch that holds it reports it as its last offset.
  const targets = new Map<string, bigint>();
  const starts = new Map<string, bigint>();
  await withAdmin(kafka, async (admin) => {
    for (const topic of topics) {
      for (const o of await topicOffsets(admin, topic)) {
        const id = `${topic}:${o.partition}`;
        const start = from.get(id) ?? o.low;
        const cap = until.get(id);
        const end = cap !== undefined && cap < o.high ? cap : o.high;
        if (end > start && end > o.low) {
          targets.set(id, end - 1n);
          starts.set(id, start > o.low ? start : o.low);
        }
      }
    }
  });
  // Progress counts offsets, not records: compaction leaves gaps, so records have no known total.
  let total = 0;
  for (const [id, target] of targets) total += Number(target - (starts.get(id) ?? 0n) + 1n);
  const read = new Map<string, number>();
  let done = 0;
  progress(0, total);
  if (targets.size === 0) return;
  const consumer = kafka.consumer({ groupId: `${READ_GROUP_PREFIX}-${randomUUID()}` });
  try {
    await new Promise<void>((resolve, reject) => {
      consumer
        .start({
          topics,
          // A throwaway group: committing nothing lets the broker forget it once it is empty.
          autoCommit: false,
          onCrash: (err, restarting) => {
            if (!restarting) reject(err);
          },
          onBatchEnd: ({ topic, partition, lastOffset }) => {
            const id = `${topic}:${partition}`;
            const target = targets.get(id);
            if (target !== undefined) {
              const last = BigInt(lastOffset);
              const upTo = Number((last < target ? last : target) - (starts.get(id) ?? 0n) + 1n);
              if (upTo > 0) {
                done += upTo - (read.get(id) ?? 0);
                read.set(id, upTo);
                progress(done, total);
              }
              if (last >= target) targets.delete(id);
            }
            if (targets.size === 0) resolve();
          },
          eachBatch: ({ topic, partition, records, lastOffset }, control) => {
            const id = `${topic}:${partition}`;
            const target = targets.get(id);
            const start = from.get(id);
            try {
              for (const record of records) {
                const offset = BigInt(record.offset);
                // Records past the target arrived after the call started: not ours to read.
                if (
                  target !== undefined &&
                  (start === undefined || offset >= start) &&
                  offset <= target
                )
                  onRecord(topic, partition, record);
              }
            } catch (err) {
              // The reader's verdict on a record (one that does not decode, say) ends the read.
              // Thrown to the consumer, it would be retried on the same batch for ever.
              reject(err instanceof Error ? err : new Error(String(err)));
              return Promise.resolve();
            }
            control.resolveOffset(lastOffset);
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.stop();
  }
}

/**
 * The record at `offset` of one partition, read_committed, or undefined when there is none to
 * read there: deleted (retention, `deleteRecords`), compacted away, aborted, a transaction
 * marker, or past the end. Reads through a throwaway group that commits nothing; the other
 * partitions are given their end as start, so none of their records is handed over.
 */
export async function readRecord(
  kafka: Kafka,
  topic: string,
  partition: number,
  offset: bigint,
): Promise<ConsumedRecord | undefined> {
  const from: StartOffsets = new Map();
  const until: StartOffsets = new Map([[`${topic}:${partition}`, offset + 1n]]);
  for (const o of await withAdmin(kafka, (admin) => topicOffsets(admin, topic)))
    from.set(`${topic}:${o.partition}`, o.partition === partition ? offset : o.high);
  let found: ConsumedRecord | undefined;
  await readToEnd(
    kafka,
    [topic],
    (_t, p, record) => {
      if (p === partition && BigInt(record.offset) === offset) found = record;
    },
    from,
    undefined,
    until,
  );
  return found;
}
