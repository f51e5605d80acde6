import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import type { StageDef } from '../../src/pipeline/stages.js';
import { execute, StageFailure } from '../../src/runtime/execute.js';
import { sideRecord, type SideRecord } from '../../src/runtime/join-stream.js';
import type { StreamJoinStage } from '../../src/pipeline/join-stream.js';
import { StateStore } from '../../src/runtime/state-store.js';
import { Topology } from '../../src/runtime/topology.js';

interface Order {
  id: string;
  n: number;
}
interface Payment {
  orderId: string;
  amount: number;
}

const payments = Sources.kafka({ topic: 'payments' });
const sink = Sinks.kafka({ topic: 'out' });

/** Orders joined with payments by order id within `windowMs`, through `join`. */
function paidJoin<U>(
  join: (o: Order, p: Payment, key: string) => U,
  windowMs = 10,
  graceMs = 0,
  lateTopic?: string,
): PipelineDef {
  return Pipeline.create()
    .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
    .groupingKey((o) => o.id)
    .joinStream({
      name: 'paid',
      other: payments,
      otherKey: (p: Payment) => p.orderId,
      windowMs,
      graceMs,
      join,
      ...(lateTopic !== undefined && { lateTopic }),
    })
    .writeTo(sink);
}

function joinStages(windowMs: number, graceMs = 0, lateTopic?: string): StageDef[] {
  const join = (o: Order, p: Payment, key: string) => ({ key, n: o.n, amount: p.amount });
  return paidJoin(join, windowMs, graceMs, lateTopic).stages;
}

const order = (id: string, n: number, t: number): SideRecord => ({ s: 'l', t, v: { id, n } });
const payment = (orderId: string, amount: number, t: number): SideRecord => ({
  s: 'r',
  t,
  v: { orderId, amount },
});

/** Runs the records through the join in order, committing after each; the outputs' values. */
async function run(stages: StageDef[], records: SideRecord[], state = new StateStore()) {
  const outs: unknown[] = [];
  for (const r of records) {
    for (const o of await execute(stages, r, state)) outs.push(o.value);
    state.commit();
  }
  return outs;
}

describe('stream join: the step', () => {
  it('joins a pair within the window once, when the later of the two arrives, whichever side', async () => {
    const stages = joinStages(1_000);
    expect(await run(stages, [order('a', 1, 0)])).toEqual([]);
    expect(await run(stages, [order('a', 1, 0), payment('a', 5, 1_000)])).toEqual([
      { key: 'a', n: 1, amount: 5 },
    ]);
    expect(await run(stages, [payment('a', 5, 0), order('a', 1, 900)])).toEqual([
      { key: 'a', n: 1, amount: 5 },
    ]);
    // Outside the window, or another key: nothing.
    expect(await run(stages, [order('a', 1, 0), payment('a', 5, 1_001)])).toEqual([]);
    expect(await run(stages, [order('a', 1, 0), payment('b', 5, 10)])).toEqual([]);
  });

  it('gives one output per pair when a key has several records on each side', async () => {
    const outs = await run(joinStages(1_000), [
      order('a', 1, 0),
      order('a', 2, 100),
      payment('a', 5, 200),
      payment('a', 6, 300),
    ]);
    expect(outs).toEqual([
      { key: 'a', n: 1, amount: 5 },
      { key: 'a', n: 2, amount: 5 },
      { key: 'a', n: 1, amount: 6 },
      { key: 'a', n: 2, amount: 6 },
    ]);
  });

  it('drops a record once the stream time passes its window and grace, and a record that late', async () => {
    const stages = joinStages(1_000);
    const state = new StateStore();
    await run(stages, [order('a', 1, 0), order('b', 2, 5_000)], state);
    // The sweep deleted key a's buffers: nothing of it is kept in memory or the changelog.
    expect(state.keys('paid').filter((k) => k.startsWith('k:'))).toEqual(['k:b']);
    expect(state.time.late).toEqual([]);
    // A payment for a, at 500: behind the stream time (5,000) by more than window + grace. It
    // joins nothing, and is noted late, for the chunk to count (no late topic: dropped).
    expect(await execute(stages, payment('a', 5, 500), state)).toEqual([]);
    expect(state.time.late).toEqual([
      { stage: 'paid', topic: undefined, key: 'a', value: { orderId: 'a', amount: 5 }, ts: 500 },
    ]);
    state.commit();
    expect(state.get('paid', 'k:a')).toBeUndefined();
  });

  it("notes a late record for the stage's late topic, when it has one", async () => {
    const stages = joinStages(1_000, 0, 'late-paid');
    const state = new StateStore();
    await run(stages, [order('b', 2, 5_000)], state);
    expect(await execute(stages, order('a', 1, 10), state)).toEqual([]);
    expect(state.time.late).toEqual([
      { stage: 'paid', topic: 'late-paid', key: 'a', value: { id: 'a', n: 1 }, ts: 10 },
    ]);
  });

  it('with a grace, a record out of order still meets its partner', async () => {
    const outs = await run(joinStages(1_000, 5_000), [
      order('a', 1, 0),
      order('b', 2, 5_000),
      payment('a', 5, 500),
    ]);
    expect(outs).toEqual([{ key: 'a', n: 1, amount: 5 }]);
  });

  it('a join function that throws fails in the stage; a record not from either side too', async () => {
    const throwing = paidJoin((): number => {
      throw new RangeError('no');
    }).stages;
    const state = new StateStore();
    await run(throwing, [order('a', 1, 0)], state);
    for (const bad of [payment('a', 5, 1), { id: 'a' }]) {
      const err = await Promise.resolve()
        .then(() => execute(throwing, bad, state))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).stage).toBe('paid');
    }
  });

  it('property: with a grace wider than the disorder, exactly the pairs within the window join', async () => {
    const rec = fc.record({
      left: fc.boolean(),
      key: fc.constantFrom('a', 'b', 'c'),
      t: fc.integer({ min: 0, max: 20_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(rec, { maxLength: 40 }), async (recs) => {
        const stages = joinStages(1_000, 20_000);
        const records = recs.map((r, i) =>
          r.left ? order(r.key, i, r.t) : payment(r.key, i, r.t),
        );
        const outs = (await run(stages, records)) as { key: string; n: number; amount: number }[];
        const want: string[] = [];
        for (const l of records.filter((r) => r.s === 'l'))
          for (const r of records.filter((x) => x.s === 'r')) {
            const lv = l.v as Order;
            const rv = r.v as Payment;
            if (lv.id === rv.orderId && Math.abs(l.t - r.t) <= 1_000)
              want.push(`${lv.id}/${lv.n}/${rv.amount}`);
          }
        expect(outs.map((o) => `${o.key}/${o.n}/${o.amount}`).sort()).toEqual(want.sort());
      }),
    );
  });
});

/** A record of one side or the other, for the properties, and its place among the records. */
interface Arrival {
  left: boolean;
  key: string;
  t: number;
  i: number;
}

/**
 * Records in arrival order: by time plus a jitter up to `grace`, so no record arrives more
 * than `grace` behind the greatest time before it (the docs' condition for exact pairs).
 */
const arrivals = (grace: number, maxLength: number): fc.Arbitrary<Arrival[]> =>
  fc
    .array(
      fc.record({
        left: fc.boolean(),
        key: fc.constantFrom('a', 'b'),
        t: fc.integer({ min: 0, max: 30_000 }),
        jitter: fc.integer({ min: 0, max: grace }),
      }),
      { maxLength },
    )
    .map((recs) =>
      recs
        .map((r, i) => ({ ...r, i }))
        .sort((x, y) => x.t + x.jitter - (y.t + y.jitter))
        .map(({ left, key, t, i }) => ({ left, key, t, i })),
    );

const sideRecords = (arrived: Arrival[]): SideRecord[] =>
  arrived.map((r) => (r.left ? order(r.key, r.i, r.t) : payment(r.key, r.i, r.t)));

describe('stream join: the grace', () => {
  it('property: records at most graceMs out of order join exactly the pairs within the window, with expiry at work', async () => {
    const WINDOW = 1_000;
    const GRACE = 2_000;
    await fc.assert(
      fc.asyncProperty(arrivals(GRACE, 60), async (arrived) => {
        const outs = (await run(joinStages(WINDOW, GRACE), sideRecords(arrived))) as {
          key: string;
          n: number;
          amount: number;
        }[];
        const want: string[] = [];
        for (const l of arrived.filter((r) => r.left))
          for (const r of arrived.filter((x) => !x.left))
            if (l.key === r.key && Math.abs(l.t - r.t) <= WINDOW)
              want.push(`${l.key}/${l.i}/${r.i}`);
        expect(outs.map((o) => `${o.key}/${o.n}/${o.amount}`).sort()).toEqual(want.sort());
      }),
    );
  });
});

describe('stream join: left', () => {
  function leftStages(windowMs: number, graceMs = 0): StageDef[] {
    return Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
      .groupingKey((o) => o.id)
      .leftJoinStream({
        name: 'paid',
        other: payments,
        otherKey: (p: Payment) => p.orderId,
        windowMs,
        graceMs,
        // The partner is typed Payment | null: the compiler makes the function handle null.
        join: (o, p, key) => ({ key, n: o.n, amount: p?.amount ?? null }),
      })
      .writeTo(sink).stages;
  }

  it('joins a left record that met no partner with null once it leaves the buffer, and only then', async () => {
    const stages = leftStages(1_000);
    const state = new StateStore();
    expect(
      await run(stages, [order('a', 1, 0), order('b', 2, 0), payment('b', 7, 500)], state),
    ).toEqual([{ key: 'b', n: 2, amount: 7 }]);
    // Stream time 5,000: a's order (never paid) leaves with null; b's (paid) leaves silently.
    expect(await run(stages, [order('c', 3, 5_000)], state)).toEqual([
      { key: 'a', n: 1, amount: null },
    ]);
    // A payment alone (the right side) never gives an output by itself.
    expect(await run(stages, [payment('d', 9, 5_100), order('e', 4, 20_000)], state)).toEqual([
      { key: 'c', n: 3, amount: null },
    ]);
  });

  it('property: every pair within the window, and each unpaired order with null once, after a flush', async () => {
    const GRACE = 2_000;
    await fc.assert(
      fc.asyncProperty(arrivals(GRACE, 50), async (arrived) => {
        const records = [
          ...sideRecords(arrived),
          // A record far later expires every buffered one.
          payment('flush', -1, 1_000_000),
        ];
        const outs = (await run(leftStages(1_000, GRACE), records)) as {
          key: string;
          n: number;
          amount: number | null;
        }[];
        const want: string[] = [];
        for (const l of arrived.filter((r) => r.left)) {
          const paid = arrived.filter(
            (r) => !r.left && r.key === l.key && Math.abs(l.t - r.t) <= 1_000,
          );
          for (const r of paid) want.push(`${l.key}/${l.i}/${r.i}`);
          if (paid.length === 0) want.push(`${l.key}/${l.i}/null`);
        }
        expect(outs.map((o) => `${o.key}/${o.n}/${o.amount}`).sort()).toEqual(want.sort());
      }),
    );
  });
});

describe('stream join: outer', () => {
  function outerStages(windowMs: number, graceMs = 0): StageDef[] {
    return Pipeline.create()
      .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
      .groupingKey((o) => o.id)
      .outerJoinStream({
        name: 'paid',
        other: payments,
        otherKey: (p: Payment) => p.orderId,
        windowMs,
        graceMs,
        // Both sides typed `| null`: the compiler makes the function handle either missing.
        join: (o, p, key) => ({ key, n: o?.n ?? null, amount: p?.amount ?? null }),
      })
      .writeTo(sink).stages;
  }

  it('joins a record of either side that met no partner with null once it leaves the buffer', async () => {
    const stages = outerStages(1_000);
    const state = new StateStore();
    expect(
      await run(stages, [order('a', 1, 0), payment('b', 7, 0), payment('c', 8, 100)], state),
    ).toEqual([]);
    expect(await run(stages, [order('c', 3, 200)], state)).toEqual([{ key: 'c', n: 3, amount: 8 }]);
    // Stream time 5,000: a's order and b's payment leave alone, with null; c's pair is done.
    const out = await run(stages, [order('d', 4, 5_000)], state);
    expect(out).toEqual(
      expect.arrayContaining([
        { key: 'a', n: 1, amount: null },
        { key: 'b', n: null, amount: 7 },
      ]),
    );
    expect(out).toHaveLength(2);
  });

  it('property: every pair within the window, and each lone record of either side with null once, after a flush', async () => {
    const GRACE = 2_000;
    await fc.assert(
      fc.asyncProperty(arrivals(GRACE, 50), async (arrived) => {
        const flush = order('flush', -1, 1_000_000);
        const outs = (await run(outerStages(1_000, GRACE), [...sideRecords(arrived), flush])) as {
          key: string;
          n: number | null;
          amount: number | null;
        }[];
        const want: string[] = [];
        const within = (l: Arrival, r: Arrival) => l.key === r.key && Math.abs(l.t - r.t) <= 1_000;
        const lefts = arrived.filter((r) => r.left);
        const rights = arrived.filter((r) => !r.left);
        for (const l of lefts) {
          const paid = rights.filter((r) => within(l, r));
          for (const r of paid) want.push(`${l.key}/${l.i}/${r.i}`);
          if (paid.length === 0) want.push(`${l.key}/${l.i}/null`);
        }
        for (const r of rights)
          if (!lefts.some((l) => within(l, r))) want.push(`${r.key}/null/${r.i}`);
        expect(outs.map((o) => `${o.key}/${o.n}/${o.amount}`).sort()).toEqual(want.sort());
      }),
    );
  });
});

describe('stream join: records, topology and builder', () => {
  it("a side record carries its side and the record's event time, or its value's time by the side's timestamp", () => {
    const plain = joinStages(1_000)[0] as StreamJoinStage;
    const side = (stage: StreamJoinStage, s: 'l' | 'r', t: number | undefined, v: unknown) =>
      JSON.parse(sideRecord(stage, s, t, v).toString()) as SideRecord;
    expect(side(plain, 'r', 1_700_000_000_123, { x: 1 })).toEqual({
      s: 'r',
      t: 1_700_000_000_123,
      v: { x: 1 },
    });
    expect(side(plain, 'l', undefined, 1).t).toBe(0);
    const timed: StreamJoinStage = {
      ...plain,
      timestamp: (v) => (v as { at: number }).at,
      otherTimestamp: (v) => (v as { paidAt: number }).paidAt,
    };
    expect(side(timed, 'l', 5, { at: 42 }).t).toBe(42);
    expect(side(timed, 'r', 5, { paidAt: 43 }).t).toBe(43);
    // A timestamp that is no number, or throws, fails the record in the join's stage.
    for (const v of [{ at: 'soon' }, null]) {
      const err = (() => {
        try {
          return sideRecord(timed, 'l', 5, v);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).stage).toBe('paid');
    }
  });

  it('the other side is a hop of its own, feeding the join’s repartition topic', () => {
    const topology = new Topology({
      namespace: 'sl',
      jobId: 'j',
      pipeline: paidJoin((o, p) => o.n + p.amount),
    });
    expect(topology.inputs).toEqual([
      { groupId: 'sl.job.j', topics: ['orders'] },
      { groupId: 'sl.job.j.paid', topics: ['sl.repartition.j.paid'] },
      { groupId: 'sl.job.j.paid~other', topics: ['payments'] },
    ]);
    expect(topology.repartitions).toEqual(['sl.repartition.j.paid']);
    expect(topology.changelogs).toEqual([{ stage: 'paid', topic: 'sl.state.j.paid' }]);
    expect([0, 1, 2].map((i) => topology.nextInput(i))).toEqual([
      'sl.repartition.j.paid',
      undefined,
      'sl.repartition.j.paid',
    ]);
  });

  it('refuses bounded sources, groupByKey, and a window that is not a duration', () => {
    const orders = () => Pipeline.create().readFrom<Order>(Sources.kafka({ topic: 'orders' }));
    const opts = {
      name: 'paid',
      other: payments,
      otherKey: (p: Payment) => p.orderId,
      windowMs: 10,
      join: (o: Order) => o,
    };
    expect(() =>
      orders()
        .groupingKey((o) => o.id)
        .joinStream({ ...opts, other: Sources.kafka({ topic: 'p', bounded: true }) }),
    ).toThrow(/bounded sources are not supported yet/);
    expect(() => orders().groupByKey().joinStream(opts)).toThrow(/not groupByKey\(\)/);
    expect(() =>
      orders()
        .groupingKey((o) => o.id)
        .joinStream({ ...opts, windowMs: -1 }),
    ).toThrow(/windowMs/);
  });
});
