import { describe, expect, it } from 'vitest';
import type { Kafka } from '../../../src/kafka/port.js';
import { record, setup } from './helpers.js';

// Records deleted from a partition's head (an operator's deleteRecords, or retention): the log
// start moves, offsets stay, and a consumer whose committed offset or position lies below the
// new log start starts from it, as a `fromBeginning` subscription does on a real broker.

const values = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `v${from + i}`);

/** Writes the values to partition 0 of `t`, in order. */
async function write(kafka: Kafka, from: number, to: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send([
    { topic: 't', messages: values(from, to).map((value) => ({ value, partition: 0 })) },
  ]);
  await producer.disconnect();
}

describe('deleteRecords on the in-memory cluster', () => {
  it('moves the log start; offsets and the end stay; the admin reports the new low', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 2);
    const kafka = cluster.client();
    await write(kafka, 0, 10);
    expect(cluster.deleteRecords('t', 0, 4)).toBe(4);
    expect(cluster.deleteRecords('t', 0, 2)).toBe(0); // below the log start: nothing changes
    expect(cluster.watermarks('t')[0]).toEqual({ partition: 0, low: 4, lastStable: 10, high: 10 });
    expect(cluster.read('t').map((r) => r.offset)).toEqual(['4', '5', '6', '7', '8', '9']);
    const admin = kafka.admin();
    expect(await admin.offsets('t')).toEqual([
      { partition: 0, low: 4n, high: 10n },
      { partition: 1, low: 0n, high: 0n },
    ]);
  });

  it('refuses an offset past the high watermark, as Kafka does', () => {
    const { cluster } = setup();
    cluster.createTopic('t', 1);
    expect(() => cluster.deleteRecords('t', 0, 1)).toThrow(
      expect.objectContaining({ type: 'OFFSET_OUT_OF_RANGE' }),
    );
    expect(cluster.watermarks('t')[0]?.low).toBe(0);
  });

  it('starts a group whose committed offset was deleted at the new log start', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const kafka = cluster.client('w');
    await write(kafka, 0, 10);
    // The group read up to 3 and stopped, as a suspended job's group does.
    const tx = kafka.transactionalProducer({ transactionalId: 'x', transactionTimeoutMs: 60_000 });
    await tx.init();
    const offsets = await tx.begin();
    await offsets.sendOffsets({ groupId: 'g' }, [{ topic: 't', partition: 0, offset: '3' }]);
    await offsets.commit();

    cluster.deleteRecords('t', 0, 6);
    const seen = await record(kafka.consumer({ groupId: 'g' }), ['t']);
    await clock.advance(100);
    // Records 3, 4 and 5 are gone: nothing says so here, which is what Sluice's check is for.
    expect(seen.values).toEqual(values(6, 10));
    expect(cluster.committed('g')).toEqual([{ topic: 't', partition: 0, offset: '3' }]);
  });

  it('moves a running consumer whose position was deleted to the new log start', async () => {
    const { cluster, clock } = setup({ maxBatchRecords: 3 });
    cluster.createTopic('t', 1);
    const kafka = cluster.client('w');
    await write(kafka, 0, 8);
    const seen = await record(kafka.consumer({ groupId: 'g' }), ['t'], {
      handle: (batch, control) => {
        // While the first batch (0..2) is handled: 3 and 4 go before the consumer fetches them.
        if (batch.records[0]?.offset === '0') cluster.deleteRecords('t', 0, 5);
        control.resolveOffset(batch.records.at(-1)?.offset ?? '-1');
        return Promise.resolve();
      },
    });
    await clock.advance(100);
    expect(seen.values).toEqual([...values(0, 3), ...values(5, 8)]);
  });

  it('lets an open transaction whose first records were deleted hold nothing back below the log start', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 1);
    const kafka = cluster.client('w');
    const tx = kafka.transactionalProducer({ transactionalId: 'x', transactionTimeoutMs: 60_000 });
    await tx.init();
    const open = await tx.begin();
    await open.send([{ topic: 't', messages: [{ value: 'open' }] }]); // 0, open
    await write(kafka, 1, 3); // 1, 2: held back by the open transaction
    expect(cluster.watermarks('t')[0]?.lastStable).toBe(0);
    cluster.deleteRecords('t', 0, 1);
    expect(cluster.watermarks('t')[0]).toEqual({ partition: 0, low: 1, lastStable: 1, high: 3 });
  });
});
