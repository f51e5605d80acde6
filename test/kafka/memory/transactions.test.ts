import { describe, expect, it } from 'vitest';
import { errorType, isFenced, isTransient } from '../../../src/kafka/errors.js';
import { KafkaProtocolError } from '../../../src/kafka/errors.js';
import type { Kafka, TransactionalProducer } from '../../../src/kafka/port.js';
import { produce, record, setup } from './helpers.js';

async function txProducer(
  kafka: Kafka,
  id = 'tx',
  timeoutMs = 60_000,
): Promise<TransactionalProducer> {
  const producer = kafka.transactionalProducer({
    transactionalId: id,
    transactionTimeoutMs: timeoutMs,
  });
  await producer.init();
  return producer;
}

const statuses = (records: { offset: string; status: string }[]): string[] =>
  records.map((r) => `${r.offset}:${r.status}`);

describe('transactions', () => {
  it('keeps open records invisible and holds back everything after them (the LSO)', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const kafka = cluster.client('w');
    await produce(kafka, 't', ['before']);
    const producer = await txProducer(kafka);
    const tx = await producer.begin();
    await tx.send([{ topic: 't', messages: [{ value: 'a1' }, { value: 'a2' }] }]);
    await produce(kafka, 't', ['plain-after']); // committed, but behind the open transaction
    const seen = await record(kafka.consumer({ groupId: 'g' }), ['t']);
    await clock.advance(5_000);
    expect(seen.values).toEqual(['before']);
    expect(cluster.watermarks('t')).toEqual([{ partition: 0, low: 0, lastStable: 1, high: 4 }]);
    expect(cluster.read('t').map((r) => String(r.value))).toEqual(['before']);
    expect(statuses(cluster.read('t', { isolation: 'read_uncommitted' }))).toEqual([
      '0:committed',
      '1:open',
      '2:open',
      '3:committed',
    ]);

    await tx.commit();
    await clock.advance(1);
    expect(seen.values).toEqual(['before', 'a1', 'a2', 'plain-after']);
    // The commit marker (offset 4) came with the batch: its last offset, past the last record.
    expect(seen.batches.at(-1)).toMatchObject({
      offsets: ['1', '2', '3'],
      lastOffset: '4',
      lag: 0n,
    });
    expect(cluster.watermarks('t')).toEqual([{ partition: 0, low: 0, lastStable: 5, high: 5 }]);
  });

  it('hides aborted records and reads past their markers, reporting a fetch of size 0', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const kafka = cluster.client('w');
    const seen = await record(kafka.consumer({ groupId: 'g' }), ['t'], { autoCommit: true });
    const producer = await txProducer(kafka);
    const tx = await producer.begin();
    await tx.send([{ topic: 't', messages: [{ value: 'x' }, { value: 'y' }] }]);
    await clock.advance(1_000);
    await tx.abort();
    await clock.advance(1_000);
    // Two records and the abort marker: the high watermark counts the marker.
    expect(cluster.watermarks('t')[0]).toEqual({ partition: 0, low: 0, lastStable: 3, high: 3 });
    expect(seen.batches).toEqual([]);
    expect(seen.ends).toEqual([
      { topic: 't', partition: 0, size: 0, firstOffset: '0', lastOffset: '2' },
    ]);
    expect(cluster.committed('g')).toEqual([{ topic: 't', partition: 0, offset: '3' }]);
    expect(cluster.read('t')).toEqual([]);
    expect(statuses(cluster.read('t', { isolation: 'read_uncommitted' }))).toEqual([
      '0:aborted',
      '1:aborted',
    ]);

    await produce(kafka, 't', ['z']);
    await clock.advance(1);
    expect(seen.batches).toMatchObject([{ values: ['z'], offsets: ['3'], lastOffset: '3' }]);
    expect(seen.ends.at(-1)).toEqual({
      topic: 't',
      partition: 0,
      size: 1,
      firstOffset: '3',
      lastOffset: '3',
    });
    expect(cluster.committed('g')).toEqual([{ topic: 't', partition: 0, offset: '4' }]);
  });

  it('commits offsets sent in a transaction only when it commits', async () => {
    const { cluster } = setup();
    cluster.createTopic('in', 2);
    cluster.createTopic('out', 1);
    const producer = await txProducer(cluster.client('w'));
    const aborted = await producer.begin();
    await aborted.sendOffsets({ groupId: 'g' }, [{ topic: 'in', partition: 0, offset: '5' }]);
    await aborted.abort();
    expect(cluster.committed('g')).toEqual([]);

    const tx = await producer.begin();
    await tx.send([{ topic: 'out', messages: [{ value: 'o' }] }]);
    await tx.sendOffsets({ groupId: 'g' }, [
      { topic: 'in', partition: 1, offset: '7' },
      { topic: 'in', partition: 0, offset: '3' },
    ]);
    expect(cluster.committed('g')).toEqual([]);
    await tx.commit();
    expect(cluster.committed('g')).toEqual([
      { topic: 'in', partition: 0, offset: '3' },
      { topic: 'in', partition: 1, offset: '7' },
    ]);
    expect(cluster.read('out').map((r) => String(r.value))).toEqual(['o']);
  });

  it('fences an earlier owner of the id: its open transaction aborts, its calls fail fenced', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 2);
    const first = await txProducer(cluster.client('a'));
    const committed = await first.begin();
    await committed.send([{ topic: 't', messages: [{ value: 'kept', partition: 0 }] }]);
    await committed.commit();
    const open = await first.begin();
    await open.send([{ topic: 't', messages: [{ value: 'lost', partition: 1 }] }]);

    const second = await txProducer(cluster.client('b')); // same transactional id
    expect(cluster.openTransactions()).toEqual([]);
    expect(statuses(cluster.read('t', { isolation: 'read_uncommitted' }))).toEqual([
      '0:committed',
      '0:aborted',
    ]);
    expect(cluster.watermarks('t').map((w) => w.high)).toEqual([2, 2]); // markers written

    for (const call of [
      () => open.commit(),
      () => open.send([{ topic: 't', messages: [{ value: 'x' }] }]),
      () => open.sendOffsets({ groupId: 'g' }, [{ topic: 't', partition: 0, offset: '1' }]),
      () => open.abort(),
      () => first.begin(),
    ]) {
      const err: unknown = await call().catch((e: unknown) => e);
      expect(isFenced(err)).toBe(true);
      expect(errorType(err)).toBe('PRODUCER_FENCED');
      expect(isTransient(err)).toBe(false);
    }
    expect(cluster.committed('g')).toEqual([]);

    const tx = await second.begin();
    await tx.send([{ topic: 't', messages: [{ value: 'new', partition: 1 }] }]);
    await tx.commit();
    expect(cluster.read('t').map((r) => String(r.value))).toEqual(['kept', 'new']);
  });

  it('aborts a transaction open past its timeout and fences its producer', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const kafka = cluster.client('w');
    const producer = await txProducer(kafka, 'slow', 1_000);
    const idle = await producer.begin(); // nothing sent: the broker has no transaction yet
    await clock.advance(5_000);
    await idle.commit();
    const tx = await producer.begin();
    await tx.send([{ topic: 't', messages: [{ value: 'x' }] }]);
    await clock.advance(999);
    expect(cluster.openTransactions()).toMatchObject([
      { transactionalId: 'slow', partitions: ['t/0'] },
    ]);
    await clock.advance(1);
    expect(cluster.openTransactions()).toEqual([]);
    expect(statuses(cluster.read('t', { isolation: 'read_uncommitted' }))).toEqual(['0:aborted']);
    expect(cluster.watermarks('t')[0]).toMatchObject({ lastStable: 2, high: 2 });
    const err: unknown = await tx.commit().catch((e: unknown) => e);
    expect(isFenced(err)).toBe(true);
    expect(errorType(err)).toBe('INVALID_PRODUCER_EPOCH');
    await expect(producer.begin()).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });
    // A new init() takes the id again.
    await producer.init();
    const again = await producer.begin();
    await again.send([{ topic: 't', messages: [{ value: 'y' }] }]);
    await again.commit();
    expect(cluster.read('t').map((r) => String(r.value))).toEqual(['y']);
  });

  it('checks usage: begin() needs init(), one transaction at a time, none after its end', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 1);
    const producer = cluster
      .client()
      .transactionalProducer({ transactionalId: 'x', transactionTimeoutMs: 1_000 });
    const err: unknown = await producer.begin().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(errorType(err)).toBeUndefined();
    await producer.init();
    const tx = await producer.begin();
    await expect(producer.begin()).rejects.toThrow(/already open/);
    await tx.commit();
    await expect(tx.send([{ topic: 't', messages: [{ value: 'v' }] }])).rejects.toThrow(
      /committed/,
    );
    await producer.disconnect();
    await expect(producer.begin()).rejects.toThrow(/before begin/);
  });

  it('injects commit failures: before (nothing happened) and after (committed, answer lost)', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 1);
    const producer = await txProducer(cluster.client('w'));
    const transient = new KafkaProtocolError('COORDINATOR_LOAD_IN_PROGRESS', 'loading', true);

    cluster.failNext({ op: 'commit', client: 'w', error: transient });
    const tx = await producer.begin();
    await tx.send([{ topic: 't', messages: [{ value: 'a' }] }]);
    const err: unknown = await tx.commit().catch((e: unknown) => e);
    expect(isTransient(err)).toBe(true);
    expect(cluster.openTransactions()).toHaveLength(1);
    expect(cluster.read('t')).toEqual([]);
    await tx.commit(); // the retry commits
    expect(cluster.read('t').map((r) => String(r.value))).toEqual(['a']);

    cluster.failNext({ op: 'commit', transactionalId: 'tx', error: transient, when: 'after' });
    const lost = await producer.begin();
    await lost.send([{ topic: 't', messages: [{ value: 'b' }] }]);
    await expect(lost.commit()).rejects.toBe(transient);
    expect(cluster.read('t').map((r) => String(r.value))).toEqual(['a', 'b']);
    await expect(lost.abort()).rejects.toMatchObject({ type: 'INVALID_TXN_STATE' });
    await lost.commit(); // repeating the end that took effect succeeds
    expect(cluster.pendingFaults).toBe(0);

    // A fault aimed elsewhere does not fire here.
    cluster.failNext({ op: 'send', client: 'other', error: transient });
    const tx3 = await producer.begin();
    await tx3.send([{ topic: 't', messages: [{ value: 'c' }] }]);
    await tx3.commit();
    expect(cluster.pendingFaults).toBe(1);
  });

  it('leaves a crashed process open transaction open until another producer takes the id', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const a = cluster.client('a');
    const producer = await txProducer(a);
    const tx = await producer.begin();
    await tx.send([{ topic: 't', messages: [{ value: 'x' }] }]);
    expect(cluster.crash('a')).toBe(1);
    await expect(tx.commit()).rejects.toThrow('client crashed');
    await expect(a.admin().listTopics()).rejects.toThrow('client crashed');
    await clock.advance(30_000);
    expect(cluster.openTransactions()).toHaveLength(1);
    await txProducer(cluster.client('a')); // the process restarted, with the same id
    expect(cluster.openTransactions()).toEqual([]);
    expect(statuses(cluster.read('t', { isolation: 'read_uncommitted' }))).toEqual(['0:aborted']);
  });

  it('never settles a call in flight when its process crashes (request latency)', async () => {
    const { cluster, clock } = setup({ requestLatencyMs: 10 });
    cluster.createTopic('t', 1);
    const a = cluster.client('a');
    const producer = a.producer();
    const connected = producer.connect();
    await clock.advance(10);
    await connected;
    let settled = false;
    void producer
      .send([{ topic: 't', messages: [{ value: 'x' }] }])
      .finally(() => (settled = true));
    await clock.advance(5);
    a.crash();
    await clock.advance(100);
    expect(settled).toBe(false);
    expect(cluster.read('t')).toEqual([]); // it never reached the cluster
  });
});

describe('offsets for a group member (KIP-447)', () => {
  it('are refused once the group moved to a generation without that member, as Kafka does', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const kafka = cluster.client('w');
    const first = kafka.consumer({ groupId: 'g' });
    await record(first, ['t']);
    await clock.advance(1_000);
    const old = first.groupMetadata();
    expect(old.generationId).toBeGreaterThan(0);
    const producer = await txProducer(kafka);
    const commitAs = async (group: typeof old, offset: string) => {
      const tx = await producer.begin();
      try {
        await tx.sendOffsets(group, [{ topic: 't', partition: 0, offset }]);
        await tx.commit();
      } catch (err) {
        await tx.abort();
        throw err;
      }
    };
    await commitAs(old, '1');

    await record(cluster.client('other').consumer({ groupId: 'g' }), ['t']);
    await clock.advance(10_000);
    const current = first.groupMetadata();
    expect(current.generationId).toBeGreaterThan(old.generationId ?? 0);
    const refused = await commitAs(old, '2').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(errorType(refused)).toBe('ILLEGAL_GENERATION');
    expect(isFenced(refused)).toBe(true);
    await commitAs(current, '3');
    await commitAs(
      { groupId: 'g', memberId: 'gone', generationId: current.generationId ?? 0 },
      '4',
    ).then(
      () => expect.fail('a member the group does not know committed'),
      (err: unknown) => expect(errorType(err)).toBe('UNKNOWN_MEMBER_ID'),
    );
    expect(cluster.committed('g')).toContainEqual(
      expect.objectContaining({ partition: 0, offset: '3' }),
    );
  });
});
