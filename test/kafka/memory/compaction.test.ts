import { describe, expect, it } from 'vitest';
import { record, setup } from './helpers.js';

describe('compacted topics', () => {
  it('keeps the latest record of each key below the LSO, at its offset', async () => {
    const { cluster, clock } = setup();
    const admin = cluster.client().admin();
    await admin.createTopics([
      { topic: 'c', partitions: 1, config: { 'cleanup.policy': 'compact,delete' } },
    ]);
    const kafka = cluster.client('w');
    const producer = kafka.producer();
    await producer.connect();
    const send = (key: string, value: string | null) =>
      producer.send([{ topic: 'c', messages: [{ key, value }] }]);
    await send('k1', 'a'); // 0
    await send('k2', 'b'); // 1
    await send('k1', 'c'); // 2
    await send('k3', 'd'); // 3
    await send('k2', null); // 4: a tombstone
    const tx = kafka.transactionalProducer({ transactionalId: 'x', transactionTimeoutMs: 10_000 });
    await tx.init();
    const aborted = await tx.begin();
    await aborted.send([{ topic: 'c', messages: [{ key: 'k3', value: 'gone' }] }]); // 5
    await aborted.abort(); // 6: marker
    const open = await tx.begin();
    await open.send([{ topic: 'c', messages: [{ key: 'k1', value: 'e' }] }]); // 7, above the LSO

    expect(cluster.compact('c')).toBe(3);
    const kept = cluster.read('c', { isolation: 'read_uncommitted' });
    expect(
      kept.map(
        (r) => `${r.offset}:${String(r.key)}=${r.value === null ? 'null' : String(r.value)}`,
      ),
    ).toEqual(['2:k1=c', '3:k3=d', '4:k2=null', '7:k1=e']);
    expect(cluster.watermarks('c')).toEqual([{ partition: 0, low: 0, lastStable: 7, high: 8 }]);

    const seen = await record(kafka.consumer({ groupId: 'g' }), ['c']);
    await clock.advance(10);
    expect(seen.batches).toMatchObject([{ offsets: ['2', '3', '4'], lastOffset: '6' }]);
    await open.commit();
    await clock.advance(10);
    expect(seen.batches.at(-1)).toMatchObject({ offsets: ['7'], lastOffset: '8' });

    expect(cluster.compact('c', { removeTombstones: true })).toBe(2); // k1=c and the tombstone
    expect(cluster.read('c').map((r) => r.offset)).toEqual(['3', '7']);
  });

  it('refuses records without a key, and compacting a topic that is not compacted', async () => {
    const { cluster } = setup();
    cluster.createTopic('c', 1, { 'cleanup.policy': 'compact' });
    cluster.createTopic('d', 1);
    const producer = cluster.client().producer();
    await producer.connect();
    await expect(producer.send([{ topic: 'c', messages: [{ value: 'v' }] }])).rejects.toMatchObject(
      {
        type: 'INVALID_RECORD',
      },
    );
    expect(() => cluster.compact('d')).toThrow(/not compacted/);
  });
});
