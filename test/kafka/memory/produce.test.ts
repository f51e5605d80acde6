import { describe, expect, it } from 'vitest';
import { isTransient, isUnknownTopic, errorType } from '../../../src/kafka/errors.js';
import {
  MemoryKafka,
  VirtualClock,
  partitionForKey,
  murmur2,
} from '../../../src/kafka/memory/index.js';
import { record, setup } from './helpers.js';

describe('murmur2 partitioner', () => {
  it("matches Java's Utils.murmur2 test vectors", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key))).toBe(hash);
    expect(partitionForKey(Buffer.from('foobar'), 3)).toBe((-790332482 & 0x7fffffff) % 3);
  });
});

describe('producing and consuming', () => {
  it('round-trips records, keyed records to the partition murmur2 picks', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 3);
    const kafka = cluster.client('a');
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({
      key: `k${i % 5}`,
      value: `v${i}`,
      headers: { h: 'x', many: ['1', Buffer.from('2')] },
    }));
    const written = await producer.send([{ topic: 't', messages }]);
    // One entry per partition written, each at its base offset (an empty log: 0).
    expect(written.map((w) => w.baseOffset)).toEqual(written.map(() => '0'));
    expect(new Set(written.map((w) => w.partition)).size).toBe(written.length);

    const records = cluster.read('t');
    expect(records).toHaveLength(30);
    for (const r of records) {
      const key = r.key as Buffer;
      expect(r.partition).toBe(partitionForKey(key, 3));
      // String headers come back as Buffers, repeated headers as lists.
      expect(r.headers.h).toEqual(Buffer.from('x'));
      expect(r.headers.many).toEqual([Buffer.from('1'), Buffer.from('2')]);
    }
    // The same key always lands on the same partition, in send order.
    const byKey = new Map<string, number>();
    for (const r of records) {
      const k = String(r.key);
      expect(byKey.get(k) ?? r.partition).toBe(r.partition);
      byKey.set(k, r.partition);
    }

    const seen = await record(kafka.consumer({ groupId: 'g' }), ['t']);
    expect(seen.assignments).toEqual([{ t: [0, 1, 2] }]);
    await clock.settle();
    expect([...seen.values].sort()).toEqual(messages.map((m) => m.value).sort());
    for (const b of seen.batches) {
      const values = records.filter((r) => r.partition === b.partition).map((r) => String(r.value));
      expect(b.values).toEqual(values); // offset order within a partition
      expect(b.lag).toBe(0n);
    }
  });

  it('gives each send base offsets that continue the log, and spreads null keys round-robin', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 2);
    const producer = cluster.client().producer();
    await producer.connect();
    const first = await producer.send([{ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] }]);
    const second = await producer.send([
      { topic: 't', messages: [{ value: 'c' }, { value: 'd' }, { value: 'e', partition: 0 }] },
    ]);
    expect(first).toEqual([
      { topic: 't', partition: 0, baseOffset: '0' },
      { topic: 't', partition: 1, baseOffset: '0' },
    ]);
    expect(second).toEqual([
      { topic: 't', partition: 0, baseOffset: '1' },
      { topic: 't', partition: 1, baseOffset: '1' },
    ]);
    expect(cluster.watermarks('t').map((w) => w.high)).toEqual([3, 2]);
    expect(cluster.read('t').map((r) => `${r.partition}:${r.offset}=${String(r.value)}`)).toEqual([
      '0:0=a',
      '0:1=c',
      '0:2=e',
      '1:0=b',
      '1:1=d',
    ]);
  });

  it('refuses unknown topics and partitions without writing anything', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 1);
    const producer = cluster.client().producer();
    await producer.connect();
    const err: unknown = await producer
      .send([
        { topic: 't', messages: [{ value: 'x' }] },
        { topic: 'nope', messages: [{ value: 'y' }] },
      ])
      .catch((e: unknown) => e);
    expect(errorType(err)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(isTransient(err)).toBe(true);
    expect(isUnknownTopic(err)).toBe(true);
    await expect(
      producer.send([{ topic: 't', messages: [{ value: 'x', partition: 1 }] }]),
    ).rejects.toMatchObject({
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    expect(cluster.watermarks('t')[0]?.high).toBe(0); // the send failed whole
    await producer.disconnect();
    await expect(producer.send([{ topic: 't', messages: [{ value: 'x' }] }])).rejects.toThrow(
      /not connected/,
    );
  });

  it('a MemoryKafka made from a clock has a cluster of its own', async () => {
    const kafka = new MemoryKafka({ clock: new VirtualClock(), name: 'solo' });
    await kafka.admin().createTopics([{ topic: 't', partitions: 1 }]);
    expect(kafka.cluster.watermarks('t')).toEqual([
      { partition: 0, low: 0, lastStable: 0, high: 0 },
    ]);
    const other = kafka.cluster.client('b');
    expect(await other.admin().listTopics()).toEqual(['t']);
  });
});

describe('admin', () => {
  it('creates, describes and deletes topics as Kafka does', async () => {
    const { cluster } = setup();
    const admin = cluster.client().admin();
    await admin.connect();
    await admin.createTopics([
      { topic: 'b', partitions: 2, config: { 'cleanup.policy': 'compact' } },
      { topic: 'a', partitions: 1 },
    ]);
    // Creating an existing topic leaves it as it is.
    await admin.createTopics([{ topic: 'b', partitions: 5 }]);
    expect(await admin.listTopics()).toEqual(['a', 'b']);
    expect(await admin.partitions(['b', 'a'])).toEqual([
      { topic: 'b', partitions: [0, 1] },
      { topic: 'a', partitions: [0] },
    ]);
    expect(await admin.topicConfig('b', ['cleanup.policy', 'unknown.config'])).toEqual({
      'cleanup.policy': 'compact',
    });
    expect(await admin.topicConfig('a', ['cleanup.policy'])).toEqual({
      'cleanup.policy': 'delete',
    });
    expect(await admin.brokerCount()).toBe(1);
    expect(await admin.offsets('b')).toEqual([
      { partition: 0, low: 0n, high: 0n },
      { partition: 1, low: 0n, high: 0n },
    ]);
    for (const call of [
      () => admin.partitions(['zzz']),
      () => admin.offsets('zzz'),
      () => admin.topicConfig('zzz', []),
    ])
      await expect(call()).rejects.toMatchObject({
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
        retriable: true,
      });
    await admin.deleteTopics(['a']);
    expect(await admin.listTopics()).toEqual(['b']);
    await expect(admin.deleteTopics(['a'])).rejects.toMatchObject({
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    await admin.disconnect();
  });

  it('reports committed offsets, groups and members', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const kafka = cluster.client('w');
    const admin = kafka.admin();
    const consumer = kafka.consumer({ groupId: 'g' });
    await record(consumer, ['t']);
    await consumer.commit([{ topic: 't', partition: 1, offset: '7' }]);
    expect(await admin.committed('g')).toEqual([{ topic: 't', partition: 1, offset: '7' }]);
    expect(await admin.committed('g', ['t'])).toEqual([
      { topic: 't', partition: 0, offset: '-1' },
      { topic: 't', partition: 1, offset: '7' },
    ]);
    expect(await admin.committed('other')).toEqual([]);
    expect(await admin.listGroups()).toEqual(['g']);
    const [described] = await admin.describeGroups(['g']);
    expect(described?.members).toEqual([{ memberId: 'w-0001', assignment: { t: [0, 1] } }]);
    expect(await admin.describeGroups(['none'])).toEqual([{ groupId: 'none', members: [] }]);
    await expect(admin.deleteGroups(['g'])).rejects.toMatchObject({ type: 'NON_EMPTY_GROUP' });
    await consumer.stop();
    await clock.settle();
    await admin.deleteGroups(['g']);
    expect(await admin.listGroups()).toEqual([]);
    expect(cluster.committed('g')).toEqual([]);
  });
});
