import { describe, expect, it } from 'vitest';
import type { ConsumedRecord, PartitionRange } from '../../src/kafka/port.js';
import { kafkaClient, kafkaPort, testNamespace, useTopics } from '../support/kafka.js';

/** More partitions of a megabyte and more than one fetch response (10 MB) holds. */
const WIDE_PARTITIONS = 12;
const RECORD_BYTES = 100_000;
const RECORDS_PER_PARTITION = 12;

// The port's readRanges on a real broker: Fetch requests of its own, no consumer group. What it
// must get right is what a group consumer got right for it before: aborted records and markers
// skipped, each range's end respected, and an end that lies behind an open transaction waited
// for rather than read past or given up on.
const ns = testNamespace('ranges');
const topic = `${ns}.data`;
const wide = `${ns}.wide`;
await useTopics(ns, [
  { topic, numPartitions: 2 },
  { topic: wide, numPartitions: WIDE_PARTITIONS },
]);

/** Reads the ranges, returning each partition's values and the last `next` it was told. */
async function read(
  ranges: PartitionRange[],
  onNext: (next: bigint) => Promise<void> = () => Promise.resolve(),
): Promise<{
  values: Map<number, string[]>;
  reached: Map<number, bigint>;
}> {
  const values = new Map<number, string[]>();
  const reached = new Map<number, bigint>();
  await kafkaPort('ranges-test').readRanges(ranges, (range, records: ConsumedRecord[], next) => {
    const list = values.get(range.partition) ?? [];
    list.push(...records.map((r) => r.value?.toString() ?? 'null'));
    values.set(range.partition, list);
    reached.set(range.partition, next);
    return onNext(next);
  });
  return { values, reached };
}

describe('Kafka.readRanges on kafkajs', () => {
  it('reads committed records between offsets, skipping aborted ones and markers, and waits for an open transaction at the end', async () => {
    const kafka = kafkaClient('ranges-writer');
    const txn = async (id: string) => {
      const p = kafka.producer({
        transactionalId: `${ns}.${id}`,
        maxInFlightRequests: 1,
        idempotent: true,
      });
      await p.connect();
      return p;
    };
    const [a, b] = await Promise.all([txn('a'), txn('b')]);
    try {
      // Partition 0: v0 v1 (committed), x0 x1 (aborted), v2 v3 (committed), with their markers.
      const t1 = await a.transaction();
      await t1.send({
        topic,
        messages: [
          { value: 'v0', partition: 0 },
          { value: 'v1', partition: 0 },
        ],
      });
      await t1.commit();
      const t2 = await a.transaction();
      await t2.send({
        topic,
        messages: [
          { value: 'x0', partition: 0 },
          { value: 'x1', partition: 0 },
        ],
      });
      await t2.abort();
      const t3 = await a.transaction();
      await t3.send({
        topic,
        messages: [
          { value: 'v2', partition: 0 },
          { value: 'v3', partition: 0 },
        ],
      });
      await t3.commit();
      // Offsets of partition 0: v0 0, v1 1, marker 2, x0 3, x1 4, marker 5, v2 6, v3 7, marker 8.
      const all = await read([{ topic, partition: 0, from: 0n, to: 9n }]);
      expect(all.values.get(0)).toEqual(['v0', 'v1', 'v2', 'v3']);
      expect(all.reached.get(0)).toBe(9n);
      // A range from inside the aborted transaction, ending before v3.
      const part = await read([{ topic, partition: 0, from: 4n, to: 7n }]);
      expect(part.values.get(0)).toEqual(['v2']);
      expect(part.reached.get(0)).toBe(7n);

      // Partition 1: w0 committed, then an open transaction whose records the range covers.
      const t4 = await b.transaction();
      await t4.send({ topic, messages: [{ value: 'w0', partition: 1 }] });
      await t4.commit();
      const t5 = await b.transaction();
      await t5.send({
        topic,
        messages: [
          { value: 'w1', partition: 1 },
          { value: 'w2', partition: 1 },
        ],
      });
      // Offsets of partition 1: w0 0, marker 1, w1 2, w2 3: the range [0, 4) ends inside t5.
      // t5 is committed only once the read has come to it (w0 and its marker read, the range
      // not done): what follows can only be read by a reader that waited for t5 to end.
      let committed = false;
      const waited = await read([{ topic, partition: 1, from: 0n, to: 4n }], async (next) => {
        if (next === 2n && !committed) {
          committed = true;
          await t5.commit();
        }
      });
      expect(committed).toBe(true);
      expect(waited.values.get(1)).toEqual(['w0', 'w1', 'w2']);
    } finally {
      await Promise.all([a, b].map((p) => p.disconnect()));
    }
  });

  it('returns at once for empty ranges, and reads several partitions in one call', async () => {
    expect((await read([{ topic, partition: 0, from: 5n, to: 5n }])).values.size).toBe(0);
    const both = await read([
      { topic, partition: 0, from: 6n, to: 8n },
      { topic, partition: 1, from: 0n, to: 1n },
    ]);
    expect(both.values.get(0)).toEqual(['v2', 'v3']);
    expect(both.values.get(1)).toEqual(['w0']);
  });

  it('reads every partition whole when one fetch response cannot hold them all', async () => {
    // A fetch answers at most 10 MB, 1 MB per partition: with twelve partitions of 1.2 MB, the
    // first response leaves some partitions empty although they hold records. Taken for a
    // partition with nothing left to read, such an empty answer skipped its records (a state
    // restore of a large changelog would have lost keys).
    const producer = kafkaClient('ranges-writer').producer();
    await producer.connect();
    const payload = (p: number, i: number): string => `${p}/${i}/`.padEnd(RECORD_BYTES, 'x');
    for (let i = 0; i < RECORDS_PER_PARTITION; i++)
      await producer.send({
        topic: wide,
        messages: Array.from({ length: WIDE_PARTITIONS }, (_, p) => ({
          value: payload(p, i),
          partition: p,
        })),
      });
    await producer.disconnect();
    const ranges = Array.from({ length: WIDE_PARTITIONS }, (_, partition) => ({
      topic: wide,
      partition,
      from: 0n,
      to: BigInt(RECORDS_PER_PARTITION),
    }));
    const { values } = await read(ranges);
    for (let p = 0; p < WIDE_PARTITIONS; p++)
      expect(
        (values.get(p) ?? []).map((v) => v.slice(0, v.indexOf('x'))),
        `partition ${p}`,
      ).toEqual(Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => `${p}/${i}/`));
  });
});
