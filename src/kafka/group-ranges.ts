import { randomUUID } from 'node:crypto';
import { READ_GROUP_PREFIX } from '../domain/resources.js';
import type { Kafka, PartitionRange, RangeHandler } from './port.js';

/**
 * The port's readRanges through a throwaway consumer group that commits nothing, for a Kafka
 * whose groups cost nothing to join (the in-memory one). A group consumer cannot be assigned
 * partitions by hand, so it subscribes to the ranges' topics from their beginning and skips
 * what lies outside the ranges.
 */
export async function readRangesInGroup(
  kafka: Kafka,
  ranges: PartitionRange[],
  onRecords: RangeHandler,
): Promise<void> {
  const byId = new Map(
    ranges.filter((r) => r.to > r.from).map((r) => [`${r.topic}:${r.partition}`, r]),
  );
  if (byId.size === 0) return;
  const consumer = kafka.consumer({ groupId: `${READ_GROUP_PREFIX}-${randomUUID()}` });
  // The offset each range reached; a range is done once it reaches its end.
  const reached = new Map<string, bigint>();
  try {
    await new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        if ([...byId].every(([id, r]) => (reached.get(id) ?? r.from) >= r.to)) resolve();
      };
      consumer
        .start({
          topics: [...new Set(ranges.map((r) => r.topic))],
          // A throwaway group: committing nothing lets the broker forget it once it is empty.
          autoCommit: false,
          onCrash: (err, restarting) => {
            if (!restarting) reject(err);
          },
          onBatchEnd: ({ topic, partition, lastOffset }) => {
            const id = `${topic}:${partition}`;
            const range = byId.get(id);
            if (!range) return;
            const next = BigInt(lastOffset) + 1n;
            const before = reached.get(id) ?? range.from;
            if (next > before) {
              const capped = next < range.to ? next : range.to;
              reached.set(id, capped);
              void Promise.resolve(onRecords(range, [], capped)).catch(reject);
            }
            settle();
          },
          eachBatch: async ({ topic, partition, records, lastOffset }, control) => {
            const range = byId.get(`${topic}:${partition}`);
            if (range) {
              // Records after the range's end were written after the read began.
              const mine = records.filter((r) => {
                const offset = BigInt(r.offset);
                return offset >= range.from && offset < range.to;
              });
              try {
                if (mine.length > 0) await onRecords(range, mine, BigInt(mine.at(-1)!.offset) + 1n);
              } catch (err) {
                // The reader's verdict on a record ends the read; thrown to the consumer, it
                // would be retried on the same batch for ever.
                reject(err instanceof Error ? err : new Error(String(err)));
                return;
              }
            }
            control.resolveOffset(lastOffset);
          },
        })
        .then(settle)
        .catch(reject);
    });
  } finally {
    await consumer.stop();
  }
}
