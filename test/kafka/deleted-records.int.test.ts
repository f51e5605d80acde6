import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PositionOutOfRangeError } from '../../src/kafka/errors.js';
import type { GroupConsumer } from '../../src/kafka/port.js';
import { until } from '../support/job-groups.js';
import { kafkaClient, kafkaPort, testNamespace, useTopics } from '../support/kafka.js';

// Records deleted (deleteRecords here; retention alike) past a running consumer's position,
// before it read them, on a real broker. The broker answers the next fetch OFFSET_OUT_OF_RANGE.
// kafkajs's way, and Kafka's, is to move to the log start and go on: the consumer that skips
// (the default) reads on from there. A consumer that stops (`deletedRecords: 'stop'`, as every
// hop of a job) ends with PositionOutOfRangeError, naming the partition and the offset it was
// about to read, and does not restart. The handler holds the first batch (one record) until the
// records after it were written and deleted, so the next fetch asks for offset 1.

const ns = testNamespace('deleted');
const admin = await useTopics(ns, [
  { topic: `${ns}.skip`, numPartitions: 1 },
  { topic: `${ns}.stop`, numPartitions: 1 },
  { topic: `${ns}.purged`, numPartitions: 2 },
]);

async function scenario(
  deletedRecords: 'skip' | 'stop',
): Promise<{ read: string[]; crashes: { err: Error; restarting: boolean }[] }> {
  const topic = `${ns}.${deletedRecords}`;
  const producer = kafkaClient().producer();
  await producer.connect();
  const send = (values: string[]) =>
    producer.send({ topic, messages: values.map((value) => ({ value })) });
  const read: string[] = [];
  const crashes: { err: Error; restarting: boolean }[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const consumer: GroupConsumer = kafkaPort().consumer({
    groupId: `${ns}.${randomUUID()}`,
    deletedRecords,
  });
  try {
    await send(['r0']);
    await consumer.start({
      topics: [topic],
      autoCommit: false,
      onCrash: (err, restarting) => crashes.push({ err, restarting }),
      eachBatch: async (batch, control) => {
        read.push(...batch.records.map((r) => String(r.value)));
        if (read.length === 1) await held;
        control.resolveOffset(batch.lastOffset);
      },
    });
    await until(() => read.length === 1, 'the first batch', 30_000);
    await send(['r1', 'r2', 'r3', 'r4', 'r5']);
    // kafkajs's admin finds the partition's leader only in metadata it has fetched.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    release();
    await until(
      () => read.includes('r5') || crashes.length > 0,
      'the consumer to read on or stop',
      30_000,
    );
    return { read, crashes };
  } finally {
    release(); // a stop waits for the batch in hand
    await consumer.stop().catch(() => undefined);
    await producer.disconnect();
  }
}

describe('records deleted past a running consumer, before it read them', () => {
  it('skipped by a consumer that skips, as Kafka does by default', async () => {
    const { read, crashes } = await scenario('skip');
    expect(read).toEqual(['r0', 'r4', 'r5']);
    expect(crashes).toEqual([]);
  });

  it('stop a consumer that stops, naming the partition and offset, without a restart', async () => {
    const { read, crashes } = await scenario('stop');
    expect(read).toEqual(['r0']);
    expect(crashes).toHaveLength(1);
    const [{ err, restarting }] = crashes as [{ err: Error; restarting: boolean }];
    expect(restarting).toBe(false);
    expect(err).toBeInstanceOf(PositionOutOfRangeError);
    expect(err).toMatchObject({ topic: `${ns}.stop`, partition: 0, position: '1' });
  });

  it("the port's deleteRecords moves each partition's log start, as a hop's purge does", async () => {
    const topic = `${ns}.purged`;
    const producer = kafkaClient().producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [0, 1].flatMap((partition) =>
        ['a', 'b', 'c'].map((value) => ({ value, partition })),
      ),
    });
    await producer.disconnect();
    const port = kafkaPort().admin();
    await port.connect();
    try {
      await port.deleteRecords(topic, [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '0' },
      ]);
      expect(
        (await port.offsets(topic))
          .sort((a, b) => a.partition - b.partition)
          .map((p) => [p.partition, String(p.low), String(p.high)]),
      ).toEqual([
        [0, '2', '3'],
        [1, '0', '3'],
      ]);
    } finally {
      await port.disconnect();
    }
  });
});
