import { describe, expect, it } from 'vitest';
import { errorType, isTransient } from '../../../src/kafka/errors.js';
import type { BatchControl } from '../../../src/kafka/port.js';
import { deferred, produce, record, setup } from './helpers.js';

const values = (n: number, prefix = 'v'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('consumer groups', () => {
  it('splits partitions between members and rebalances when a third joins', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 4);
    const events: string[] = [];
    const inFlight = new Set<number>();
    const hold = deferred();
    let staleSeen: boolean | undefined;
    let holding: BatchControl | undefined;
    const member = (name: string) => ({
      onAssignment: (a: Record<string, number[]>) =>
        events.push(`${name} assigned ${JSON.stringify(a)}`),
      handle: async (
        batch: { partition: number; records: { offset: string }[] },
        control: BatchControl,
      ) => {
        expect(inFlight.has(batch.partition)).toBe(false); // never two batches of a partition at once
        inFlight.add(batch.partition);
        events.push(`${name} batch ${batch.partition}`);
        if (name === 'a' && holding === undefined) {
          holding = control;
          await hold.promise;
          staleSeen = control.isStale();
        }
        control.resolveOffset(batch.records.at(-1)?.offset ?? '-1');
        inFlight.delete(batch.partition);
      },
    });
    const a = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t'], member('a'));
    const b = await record(cluster.client('b').consumer({ groupId: 'g' }), ['t'], member('b'));
    expect(a.assignments).toEqual([{ t: [0, 1, 2, 3] }, { t: [0, 2] }]);
    expect(b.assignments).toEqual([{ t: [1, 3] }]);

    // a gets a batch of partition 0 and holds it.
    await produce(cluster.client('p'), 't', ['x'], () => null);
    await clock.settle();
    expect(holding).toBeDefined();
    expect(holding?.isStale()).toBe(false);

    events.length = 0;
    let cStarted = false;
    const cSeen = record(cluster.client('c').consumer({ groupId: 'g' }), ['t'], member('c')).then(
      (s) => {
        cStarted = true;
        return s;
      },
    );
    await clock.advance(10_000);
    // The rebalance waits for a, whose batch is still in flight; a's batch is stale now.
    expect(cStarted).toBe(false);
    expect(cluster.group('g')?.rebalancing).toBe(true);
    expect(holding?.isStale()).toBe(true);
    expect(holding?.isRunning()).toBe(true);
    await produce(cluster.client('p'), 't', values(8), () => null);
    await clock.advance(1_000);
    expect(events.filter((e) => e.includes('batch'))).toEqual([]); // nobody fetches meanwhile

    hold.resolve();
    await clock.advance(1_000);
    expect(cStarted).toBe(true);
    expect(staleSeen).toBe(true);
    const c = await cSeen;
    expect(a.assignments.at(-1)).toEqual({ t: [0, 3] });
    expect(b.assignments.at(-1)).toEqual({ t: [1] });
    expect(c.assignments).toEqual([{ t: [2] }]);
    // Each member's new share is announced before any batch of the new generation.
    for (const name of ['a', 'b', 'c']) {
      const mine = events.filter((e) => e.startsWith(`${name} `));
      expect(mine[0]).toMatch(/assigned/);
      const share = JSON.parse(mine[0]?.replace(/^\w+ assigned /, '') ?? '{}') as { t: number[] };
      for (const e of mine.slice(1)) expect(share.t).toContain(Number(e.split(' ')[2]));
    }
    expect([...a.values, ...b.values, ...c.values].filter((v) => v.startsWith('v')).sort()).toEqual(
      values(8).sort(),
    );
    expect(cluster.group('g')).toMatchObject({ generation: 3, rebalancing: false });
  });

  it('expels a member that stops heartbeating; its partitions resume at the committed offset', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    await produce(cluster.client('p'), 't', values(5), () => null); // round-robin: 0,2,4 on p0
    const options = { groupId: 'g', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 };
    const zombie = cluster.client('a').consumer(options);
    const stuck = deferred();
    let zombieCommit: unknown;
    let zombieStale: boolean | undefined;
    let first = true;
    await record(zombie, ['t'], {
      handle: async (batch, control) => {
        if (batch.partition !== 0 || !first)
          return control.resolveOffset(batch.records.at(-1)?.offset ?? '');
        first = false;
        await zombie.commit([{ topic: 't', partition: 0, offset: '1' }]); // record 0 done
        await stuck.promise; // the process hangs here: no more heartbeats
        zombieStale = control.isStale();
        zombieCommit = await zombie
          .commit([{ topic: 't', partition: 0, offset: '3' }])
          .catch((e: unknown) => e);
      },
    });
    await clock.settle();
    expect(cluster.committed('g')).toEqual([{ topic: 't', partition: 0, offset: '1' }]);

    let started = false;
    const healthy = record(cluster.client('b').consumer(options), ['t']).then(
      (s) => ((started = true), s),
    );
    await clock.advance(9_000);
    expect(started).toBe(false);
    expect(cluster.group('g')?.members.map((m) => m.memberId)).toEqual(['a-0001', 'b-0002']);
    await clock.advance(1_000); // a's session (10 s since it was last heard of) expires
    expect(started).toBe(true);
    const b = await healthy;
    expect(b.assignments).toEqual([{ t: [0, 1] }]);
    expect(cluster.group('g')?.members.map((m) => m.memberId)).toEqual(['b-0002']);
    await clock.settle();
    // p0 resumes at the group's committed offset 1: records 2 and 4 of the topic.
    expect(b.batches.find((x) => x.partition === 0)?.offsets).toEqual(['1', '2']);

    // The zombie wakes up: its batch is stale and its commit fails; then it rejoins anew.
    stuck.resolve();
    await clock.advance(100);
    expect(zombieStale).toBe(true);
    expect(errorType(zombieCommit)).toBe('UNKNOWN_MEMBER_ID');
    expect(isTransient(zombieCommit)).toBe(true);
    await clock.advance(5_000);
    expect(cluster.group('g')?.members.map((m) => m.memberId)).toEqual(['a-0003', 'b-0002']);
    expect(b.assignments.at(-1)).toEqual({ t: [1] });
  });

  it('keeps a crashed member in the group until its session times out', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const options = { groupId: 'g', sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000 };
    const a = await record(cluster.client('a').consumer(options), ['t'], { autoCommit: true });
    const b = await record(cluster.client('b').consumer(options), ['t'], { autoCommit: true });
    expect(cluster.group('g')?.generation).toBe(2);
    await clock.advance(5_000);
    cluster.crash('a');
    await produce(cluster.client('p'), 't', values(4), () => null);
    // a last heartbeated at 3 s: its session ends at 33 s.
    await clock.advance(27_000);
    expect(cluster.group('g')).toMatchObject({ generation: 2, rebalancing: false });
    expect(cluster.group('g')?.members.map((m) => m.client)).toEqual(['a', 'b']);
    expect(a.values).toEqual([]); // a crashed process fetches nothing
    expect(b.values).toEqual(['v1', 'v3']);
    await clock.advance(3_000);
    expect(cluster.group('g')).toMatchObject({ generation: 3, rebalancing: false });
    expect(b.assignments.at(-1)).toEqual({ t: [0, 1] });
    await clock.settle();
    // b auto-committed p1 before the rebalance, so only p0's records are new to it.
    expect([...b.values].sort()).toEqual(values(4));
    await expect(cluster.client('a').admin().brokerCount()).resolves.toBe(1); // a restarted process
  });

  it('stop() leaves at once (the others rebalance) and hands over no batch after it resolves', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const ca = cluster.client('a').consumer({ groupId: 'g' });
    const a = await record(ca, ['t'], { autoCommit: true });
    const b = await record(cluster.client('b').consumer({ groupId: 'g' }), ['t'], {
      autoCommit: true,
    });
    await produce(cluster.client('p'), 't', values(4), () => null);
    await clock.advance(100);
    await ca.stop();
    const before = a.batches.length;
    await clock.settle();
    expect(b.assignments.at(-1)).toEqual({ t: [0, 1] });
    await produce(cluster.client('p'), 't', values(4, 'w'), () => null);
    await clock.advance(100);
    expect(a.batches.length).toBe(before);
    expect([...b.values].filter((v) => v.startsWith('w')).sort()).toEqual(values(4, 'w'));
    // Offsets a auto-committed carried over: nothing was delivered twice.
    expect([...a.values, ...b.values].filter((v) => v.startsWith('v')).sort()).toEqual(values(4));
    expect(cluster.group('g')?.members.map((m) => m.client)).toEqual(['b']);
  });

  it('keeps a long batch that heartbeats alive; its heartbeat fails during a rebalance', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const options = {
      groupId: 'g',
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      rebalanceTimeoutMs: 60_000,
    };
    const errors: string[] = [];
    let done = false;
    await record(cluster.client('a').consumer(options), ['t'], {
      handle: async (_batch, control) => {
        for (let i = 0; i < 25 && !done; i++) {
          await clock.sleep(1_000);
          await control.heartbeat().catch((e: unknown) => errors.push(errorType(e) ?? 'other'));
        }
      },
    });
    await produce(cluster.client('p'), 't', ['x'], () => null);
    await clock.advance(15_000);
    expect(cluster.group('g')?.members).toHaveLength(1); // alive past its session timeout
    expect(errors).toEqual([]);
    let bIn = false;
    void record(cluster.client('b').consumer(options), ['t']).then(() => (bIn = true));
    await clock.advance(3_000);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['REBALANCE_IN_PROGRESS']));
    expect(bIn).toBe(false); // waits for a to finish its batch
    done = true;
    await clock.advance(2_000);
    expect(bIn).toBe(true);
  });

  it('announces every share, an empty one too', async () => {
    const { cluster } = setup();
    cluster.createTopic('t', 1);
    const a = await record(cluster.client('a').consumer({ groupId: 'g' }), ['t']);
    const b = await record(cluster.client('b').consumer({ groupId: 'g' }), ['t']);
    expect(a.assignments).toEqual([{ t: [0] }, { t: [0] }]);
    expect(b.assignments).toEqual([{}]);
    const [described] = await cluster.client().admin().describeGroups(['g']);
    expect(described?.members).toEqual([
      { memberId: 'a-0001', assignment: { t: [0] } },
      { memberId: 'b-0002', assignment: {} },
    ]);
  });

  it('removes a member that does not rejoin within the rebalance timeout', async () => {
    const { cluster, clock } = setup();
    cluster.createTopic('t', 2);
    const options = {
      groupId: 'g',
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      rebalanceTimeoutMs: 20_000,
    };
    const forever = deferred();
    await record(cluster.client('a').consumer(options), ['t'], {
      handle: async (_b, control) => {
        for (;;) {
          await Promise.race([clock.sleep(1_000), forever.promise]);
          await control.heartbeat().catch(() => undefined);
        }
      },
    });
    await produce(cluster.client('p'), 't', ['x'], () => null);
    await clock.advance(1_000);
    let bIn = false;
    void record(cluster.client('b').consumer(options), ['t']).then(() => (bIn = true));
    await clock.advance(19_000);
    expect(bIn).toBe(false);
    await clock.advance(1_000);
    expect(bIn).toBe(true);
    expect(cluster.group('g')?.members.map((m) => m.client)).toEqual(['b']);
  });
});
