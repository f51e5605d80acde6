import type { KafkaMessage } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { consumerConfig } from '../../src/kafka/kafkajs/consumer.js';
import { kafkaClient } from './kafka.js';
import { readAgainUntil } from './records.js';

/** A record as kafkajs decodes it, with the record batch it came in. */
type RawRecord = KafkaMessage & {
  isControlRecord?: boolean;
  batchContext?: {
    producerId: string;
    producerEpoch: number;
    firstSequence: number;
    inTransaction: boolean;
  };
};

/**
 * A committed record, and the transaction it came in: `<partition>/<producerId>#<n>`, n counting
 * that producer's transactions there; `-` outside transactions. `batch` names the record batch
 * that carried it: `epoch <producer epoch> seq <first sequence>`. Two copies of a record in one
 * transaction tell by it how they got there: one epoch and the same sequence (a retried batch the
 * broker did not deduplicate), one epoch and two sequences (the client sent it twice), or two
 * epochs (a fenced producer's records that no abort marker closed).
 */
export type CommittedRecord = KafkaMessage & { partition: number; txn: string; batch: string };

function batchOf(r: RawRecord): string {
  return `epoch ${r.batchContext?.producerEpoch} seq ${r.batchContext?.firstSequence}`;
}

/**
 * What read_committed readers must see of a topic, worked out from the transaction markers
 * themselves: every record read read_uncommitted, a transactional producer's records kept when
 * the next marker of that producer on the partition is a commit. It does not rely on any
 * read_committed filter (kafkajs's, or Sluice's replacement), so a test can check one against
 * it. Call it once nothing writes to the topic any more: open transactions count as not
 * committed.
 */
export async function committedByMarkers(
  topic: string,
  brokers?: string[],
  timeoutMs = 60_000,
): Promise<CommittedRecord[]> {
  const kafka = kafkaClient('sluice-test-markers', brokers);
  const admin = kafka.admin();
  await admin.connect();
  const pending = new Set<number>();
  try {
    for (const o of await admin.fetchTopicOffsets(topic))
      if (BigInt(o.high) > BigInt(o.low)) pending.add(o.partition);
  } finally {
    await admin.disconnect();
  }
  const committed: CommittedRecord[] = [];
  if (pending.size === 0) return committed;
  // Per partition and producer, the transactional records since that producer's last marker.
  const open = new Map<string, KafkaMessage[]>();
  const ended = new Map<string, number>();
  const consumer = kafka.consumer(
    consumerConfig({
      groupId: `sluice-test-${randomUUID()}`,
      readUncommitted: true,
    }),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic} not read in time`)), timeoutMs);
      void consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          // Not in kafkajs's types, but on every batch: all decoded records, and the fetch offset.
          const raw = batch as unknown as { rawMessages: RawRecord[]; fetchedOffset: string };
          for (const r of raw.rawMessages) {
            if (BigInt(r.offset) < BigInt(raw.fetchedOffset)) continue;
            const ctx = r.batchContext;
            if (!ctx?.inTransaction) {
              committed.push({ ...r, partition: batch.partition, txn: '-', batch: batchOf(r) });
              continue;
            }
            const id = `${batch.partition}/${ctx.producerId}`;
            if (r.isControlRecord) {
              const n = ended.get(id) ?? 0;
              ended.set(id, n + 1);
              // A control record's key: version (int16), then type (int16): 0 abort, 1 commit.
              if (r.key?.readInt16BE(2) === 1)
                for (const m of open.get(id) ?? [])
                  committed.push({
                    ...m,
                    partition: batch.partition,
                    txn: `${id}#${n}`,
                    batch: batchOf(m),
                  });
              open.delete(id);
            } else open.set(id, [...(open.get(id) ?? []), r]);
          }
          if (BigInt(batch.lastOffset()) >= BigInt(batch.highWatermark) - 1n)
            pending.delete(batch.partition);
          if (pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return committed;
}

/** {@link committedByMarkers}, read again until `shows` holds of it (see readAgainUntil). */
export function committedOnceShown(
  topic: string,
  brokers: string[] | undefined,
  shows: (records: CommittedRecord[]) => boolean,
  timeoutMs = 10_000,
): Promise<CommittedRecord[]> {
  return readAgainUntil(() => committedByMarkers(topic, brokers), shows, timeoutMs);
}
