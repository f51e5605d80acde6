import { describe, expect, it } from 'vitest';
import { KafkaProtocolError } from '../../../src/kafka/errors.js';
import type { BatchControl } from '../../../src/kafka/port.js';
import { deferred, produce, record, setup } from './helpers.js';

const values = (n: number, prefix = 'v'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('consumer', () => {
  it('hands unresolved records over again after eachBatch throws, after a backoff', async () => {
    const { cluster, clock } = setup({ retryBackoffMs: 200 });
    cluster.createTopic('t', 1);
    await produce(cluster.client('p'), 't', values(5));
    const times: number[] = [];
    let calls = 0;
    const seen = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t'], {
      handle: async (batch, control) => {
        times.push(clock.now());
        if (calls++ === 0) {
          control.resolveOffset(batch.records[1]?.offset ?? ''); // v0 and v1 done
          throw new Error('boom');
        }
        control.resolveOffset(batch.lastOffset);
        return Promise.resolve();
      },
    });
    await clock.advance(1_000);
    expect(seen.batches.map((b) => b.offsets)).toEqual([
      ['0', '1', '2', '3', '4'],
      ['2', '3', '4'],
    ]);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBe(200);
    // No onBatchEnd for the batch that threw.
    expect(seen.ends.map((e) => [e.firstOffset, e.size])).toEqual([['2', 3]]);
    expect(seen.assignments).toHaveLength(1);
  });

  it('rejoins the group when eachBatch throws a rebalance error', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    await produce(cluster.client('p'), 't', values(2));
    let calls = 0;
    const seen = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t'], {
      handle: async (batch, control) => {
        if (calls++ === 0) throw new KafkaProtocolError('ILLEGAL_GENERATION', 'old', false);
        control.resolveOffset(batch.lastOffset);
        return Promise.resolve();
      },
    });
    await clock.advance(1_000);
    expect(seen.assignments).toEqual([{ t: [0] }, { t: [0] }]);
    expect(seen.batches.map((b) => b.offsets)).toEqual([
      ['0', '1'],
      ['0', '1'],
    ]);
  });

  it('wakes a waiting fetch as soon as records arrive', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const at: number[] = [];
    await record(cluster.client('a').consumer({ groupId: 'g' }), ['t'], {
      handle: async (batch, control) => {
        at.push(clock.now());
        control.resolveOffset(batch.lastOffset);
        return Promise.resolve();
      },
    });
    await clock.advance(1_234);
    const sentAt = clock.now();
    await produce(cluster.client('p'), 't', ['x']);
    await clock.settle();
    expect(at).toEqual([sentAt]);
  });

  it('caps a batch at maxBatchRecords offsets and reports the lag behind it', async () => {
    const { cluster, clock } = setup({ maxBatchRecords: 4 });
    cluster.createTopic('t', 1);
    await produce(cluster.client('p'), 't', values(10));
    const seen = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t']);
    await clock.advance(10);
    expect(seen.batches.map((b) => [b.offsets.join(','), b.lastOffset, b.lag])).toEqual([
      ['0,1,2,3', '3', 6n],
      ['4,5,6,7', '7', 2n],
      ['8,9', '9', 0n],
    ]);
  });

  it('seeks: the next fetch starts there, and a batch in flight turns stale', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    await produce(cluster.client('p'), 't', values(6));
    const consumer = cluster.client('a').consumer({ groupId: 'g' });
    const hold = deferred();
    let control: BatchControl | undefined;
    const seen = await record(consumer, ['t'], {
      handle: async (batch, c) => {
        if (control === undefined) {
          control = c;
          await hold.promise;
        }
        c.resolveOffset(batch.lastOffset);
      },
    });
    await clock.settle();
    expect(control?.isStale()).toBe(false);
    consumer.seek('t', 0, '4');
    expect(control?.isStale()).toBe(true);
    hold.resolve();
    await clock.advance(10);
    expect(seen.batches.map((b) => b.offsets.join(','))).toEqual(['0,1,2,3,4,5', '4,5']);
    expect(() => consumer.seek('t', 0, 'x')).toThrow(/Not an offset/);
  });

  it('pauses topics: no more fetches of them, others go on', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('a', 1);
    cluster.createTopic('b', 1);
    const consumer = cluster.client('c').consumer({ groupId: 'g' });
    const seen = await record(consumer, ['a', 'b']);
    await produce(cluster.client('p'), 'a', ['a1']);
    await produce(cluster.client('p'), 'b', ['b1']);
    await clock.advance(10);
    consumer.pause(['a']);
    await produce(cluster.client('p'), 'a', ['a2']);
    await produce(cluster.client('p'), 'b', ['b2']);
    await clock.advance(10_000);
    expect(seen.values).toEqual(['a1', 'b1', 'b2']);
  });

  it('handles up to partitionsInParallel partitions at once, one batch per partition', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 4);
    await produce(cluster.client('p'), 't', values(8), () => null);
    let running = 0;
    let most = 0;
    const busy = new Set<number>();
    const seen = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t'], {
      partitionsInParallel: 2,
      handle: async (batch, control) => {
        expect(busy.has(batch.partition)).toBe(false);
        busy.add(batch.partition);
        most = Math.max(most, ++running);
        await clock.sleep(100);
        running--;
        busy.delete(batch.partition);
        control.resolveOffset(batch.lastOffset);
      },
    });
    await clock.advance(1_000);
    expect(most).toBe(2);
    expect([...seen.values].sort()).toEqual(values(8));
  });

  it('accepts a commit of the current generation while a rebalance waits, not from a removed member', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const options = { groupId: 'g', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 };
    const a = cluster.client('a').consumer(options);
    const hold = deferred();
    await record(a, ['t'], { handle: () => hold.promise });
    await produce(cluster.client('p'), 't', ['x'], () => null);
    await clock.settle();
    void record(cluster.client('b').consumer(options), ['t']);
    await clock.advance(1_000);
    expect(cluster.group('g')?.rebalancing).toBe(true);
    await a.commit([{ topic: 't', partition: 0, offset: '1' }]);
    expect(cluster.committed('g')).toEqual([{ topic: 't', partition: 0, offset: '1' }]);
    await clock.advance(10_000); // a's session expires
    await expect(a.commit([{ topic: 't', partition: 0, offset: '2' }])).rejects.toMatchObject({
      type: 'UNKNOWN_MEMBER_ID',
      retriable: true,
    });
    hold.resolve();
  });

  it('injects heartbeat faults into a batch heartbeat and the loop own heartbeat', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const options = { groupId: 'g', heartbeatIntervalMs: 1_000 };
    const rebalance = new KafkaProtocolError('REBALANCE_IN_PROGRESS', 'injected', true);
    const errors: unknown[] = [];
    const seen = await record(cluster.client('a').consumer(options), ['t'], {
      handle: async (batch, control) => {
        await clock.sleep(1_000);
        await control.heartbeat().catch((e: unknown) => errors.push(e));
        control.resolveOffset(batch.lastOffset);
      },
    });
    cluster.failNext({ op: 'heartbeat', client: 'a', error: rebalance });
    await produce(cluster.client('p'), 't', ['x']);
    await clock.advance(1_500);
    expect(errors).toEqual([rebalance]);
    // The handler swallowed it: as in kafkajs, the consumer does not rejoin for that.
    expect(seen.assignments).toHaveLength(1);
    cluster.failNext({ op: 'heartbeat', client: 'a', error: rebalance });
    await clock.advance(2_000); // the idle loop's own heartbeat takes this one
    expect(cluster.pendingFaults).toBe(0);
    // It rejoins (a stable group: the same share, announced again).
    expect(seen.assignments).toEqual([{ t: [0] }, { t: [0] }]);
  });

  it('gives up on a fatal fetch fault: leaves the group and reports onCrash', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    const crashes: [string, boolean][] = [];
    const error = new Error('fatal');
    await record(cluster.client('a').consumer({ groupId: 'g' }), ['t'], {
      onCrash: (err, restarting) => crashes.push([err.message, restarting]),
    });
    cluster.failNext({ op: 'fetch', client: 'a', error, fatal: true });
    await clock.advance(1_000);
    expect(crashes).toEqual([['fatal', false]]);
    expect(cluster.group('g')?.members).toEqual([]);
  });

  it('retries after a transient fetch fault without losing records', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 1);
    await produce(cluster.client('p'), 't', ['x']);
    cluster.failNext({
      op: 'fetch',
      error: new KafkaProtocolError('NOT_LEADER_FOR_PARTITION', 'moved', true),
      times: 2,
    });
    const seen = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t']);
    await clock.advance(399);
    expect(seen.values).toEqual([]);
    await clock.advance(1);
    expect(seen.values).toEqual(['x']);
  });

  it('a stalled process stops heartbeating, is expelled, and rejoins when it resumes', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const options = { groupId: 'g', sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000 };
    const a = await record(cluster.client('a').consumer(options), ['t'], { autoCommit: true });
    const b = await record(cluster.client('b').consumer(options), ['t'], { autoCommit: true });
    cluster.stall('a');
    await clock.advance(7_000);
    expect(cluster.group('g')?.members.map((m) => m.client)).toEqual(['b']);
    expect(b.assignments.at(-1)).toEqual({ t: [0, 1] });
    cluster.resume('a');
    await clock.advance(2_000);
    expect(cluster.group('g')?.members.map((m) => m.client)).toEqual(['a', 'b']);
    expect(a.assignments.at(-1)).toEqual({ t: [0] });
  });
});
