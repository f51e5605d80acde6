import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/domain/errors.js';
import { Tables } from '../../src/pipeline/join.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { execute, StageFailure } from '../../src/runtime/execute.js';
import { appliedOffsets, applyTableUpdates, entryKey } from '../../src/runtime/join-table.js';
import { TableIndex, type TableUpdate } from '../../src/runtime/join-table-index.js';
import { StateStore } from '../../src/runtime/state-store.js';

interface Order {
  n: number;
  customer: string;
}
interface Customer {
  tier: string;
}

const customers = Tables.kafka<Customer>({ topic: 'customers' });
const orders = () => Pipeline.create().readFrom<Order>(Sources.kafka({ topic: 'orders' }));
const sink = Sinks.kafka({ topic: 'out' });

const innerStages = orders()
  .joinTable(customers, {
    name: 'customers',
    key: (o) => o.customer,
    join: (o, c) => ({ n: o.n, tier: c.tier }),
  })
  .writeTo(sink).stages;
const leftStages = orders()
  .leftJoinTable(customers, {
    name: 'customers',
    key: (o) => o.customer,
    join: (o, c) => ({ n: o.n, tier: c?.tier ?? null }),
  })
  .writeTo(sink).stages;

const update = (key: string, value: unknown, offset: number, partition = 0): TableUpdate => ({
  key,
  value,
  topic: 'customers',
  partition,
  offset: BigInt(offset),
});

/** A task's state holding the table { c1: gold } at offset 1 of partition 0, committed. */
function withTable(): StateStore {
  const state = new StateStore();
  applyTableUpdates(
    state,
    'customers',
    new Map(),
    [update('c1', { tier: 'gold' }, 0)],
    new Map([[0, 1n]]),
  );
  state.commit();
  return state;
}

describe('table join: the step', () => {
  it('inner: joins a value with its key’s entry, and drops a value whose key the table lacks', async () => {
    const state = withTable();
    expect(await execute(innerStages, { n: 1, customer: 'c1' }, state)).toEqual([
      { key: null, value: { n: 1, tier: 'gold' } },
    ]);
    expect(await execute(innerStages, { n: 2, customer: 'c9' }, state)).toEqual([]);
  });

  it('left: a value whose key the table lacks is joined with null', async () => {
    const state = withTable();
    expect(await execute(leftStages, { n: 2, customer: 'c9' }, state)).toEqual([
      { key: null, value: { n: 2, tier: null } },
    ]);
  });

  it('sees a deleted entry as absent, pending or committed', async () => {
    const state = withTable();
    applyTableUpdates(
      state,
      'customers',
      appliedOffsets(state, 'customers', [0]),
      [update('c1', undefined, 1)],
      new Map([[0, 2n]]),
    );
    expect(await execute(leftStages, { n: 1, customer: 'c1' }, state)).toEqual([
      { key: null, value: { n: 1, tier: null } },
    ]);
    // The changelog gets a tombstone for it (task.ts writes undefined as null).
    expect(state.changelogWrites()).toContainEqual({
      stage: 'customers',
      key: entryKey('c1'),
      value: undefined,
    });
    state.commit();
    expect(await execute(innerStages, { n: 1, customer: 'c1' }, state)).toEqual([]);
  });

  it('a join function that throws or rejects fails in the stage, naming it', async () => {
    const throwing = orders()
      .joinTable(customers, {
        name: 'enrich',
        key: (o) => o.customer,
        join: (): Order => {
          throw new RangeError('bad partner');
        },
      })
      .writeTo(sink).stages;
    const rejecting = orders()
      .joinTable(customers, {
        name: 'enrich',
        key: (o) => o.customer,
        join: () => Promise.reject(new RangeError('bad partner')),
      })
      .writeTo(sink).stages;
    for (const stages of [throwing, rejecting]) {
      const state = new StateStore();
      state.restore('enrich', entryKey('c1'), { tier: 'gold' });
      const err = await Promise.resolve()
        .then(() => execute(stages, { n: 1, customer: 'c1' }, state))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).stage).toBe('enrich');
    }
  });

  it('keys the table by text: a numeric key finds the entry of its decimal form', async () => {
    const byId = Pipeline.create()
      .readFrom<{ id: number }>(Sources.kafka({ topic: 'in' }))
      .joinTable(customers, { name: 'c', key: (v) => v.id, join: (v, c) => `${v.id}:${c.tier}` })
      .writeTo(sink).stages;
    const state = new StateStore();
    state.restore('c', entryKey('42'), { tier: 'gold' });
    expect(await execute(byId, { id: 42 }, state)).toEqual([{ key: null, value: '42:gold' }]);
  });
});

describe('table join: catching a copy up', () => {
  it('moves only the offsets of partitions that moved, and reads them back', () => {
    const state = withTable();
    expect(appliedOffsets(state, 'customers', [0, 1])).toEqual(new Map([[0, 1n]]));
    const mark = state.mark();
    applyTableUpdates(
      state,
      'customers',
      new Map([[0, 1n]]),
      [update('c2', { tier: 'x' }, 3, 1)],
      new Map([
        [0, 1n],
        [1, 4n],
      ]),
    );
    expect(
      state
        .pendingWrites()
        .slice(mark)
        .map((w) => w.key),
    ).toEqual([entryKey('c2'), 'o:1']);
    expect(appliedOffsets(state, 'customers', [0, 1])).toEqual(
      new Map([
        [0, 1n],
        [1, 4n],
      ]),
    );
  });

  it('an unreadable entry fails the catch-up with SLUICE_DECODE_FAILED naming the record', () => {
    const state = new StateStore();
    const bad = { ...update('c3', undefined, 7, 1), unreadable: 'Unexpected token' };
    const err = (() => {
      try {
        applyTableUpdates(state, 'customers', new Map(), [bad], new Map([[1, 8n]]));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SluiceError);
    expect(err).toMatchObject({
      code: 'SLUICE_DECODE_FAILED',
      details: { stage: 'customers', topic: 'customers', partition: 1, offset: '7' },
    });
  });

  it('a later readable version of the key replaces an unreadable one', () => {
    const index = new TableIndex();
    index.add({ ...update('c3', undefined, 0), unreadable: 'bad' });
    index.add(update('c3', { tier: 'ok' }, 1));
    expect(index.since(new Map())).toEqual([update('c3', { tier: 'ok' }, 1)]);
  });

  it('property: a copy caught up now and then holds exactly the table as of its offsets', () => {
    const op = fc.record({
      key: fc.integer({ min: 0, max: 12 }),
      value: fc.option(fc.integer({ min: 0, max: 99 }), { nil: undefined }),
      catchUp: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const index = new TableIndex();
        const next = new Map<number, bigint>();
        const model = new Map<string, unknown>();
        const copy = new Map<string, unknown>();
        let at = new Map<number, bigint>();
        for (const o of ops) {
          // A key stays in one partition, as a keyed producer's records do.
          const partition = o.key % 3;
          const offset = next.get(partition) ?? 0n;
          next.set(partition, offset + 1n);
          const key = `k${o.key}`;
          index.add(update(key, o.value, Number(offset), partition));
          if (o.value === undefined) model.delete(key);
          else model.set(key, o.value);
          if (!o.catchUp) continue;
          for (const u of index.since(at))
            if (u.value === undefined) copy.delete(u.key);
            else copy.set(u.key, u.value);
          at = new Map(next);
          expect(copy).toEqual(model);
        }
      }),
    );
  });
});

describe('table join: the builder', () => {
  it('refuses a join inside a branch, a missing table, and functions that are not', () => {
    expect(() =>
      orders().branch(
        { all: () => true },
        {
          all: (s) =>
            s
              .joinTable(customers, { name: 'j', key: (o) => o.customer, join: (o) => o })
              .writeTo(sink),
        },
      ),
    ).toThrow(/inside branch "all" is not supported/);
    expect(() =>
      orders().joinTable({ topic: 'x' } as never, {
        name: 'j',
        key: (o) => o.customer,
        join: (o) => o,
      }),
    ).toThrow(/must be a table, Tables.kafka/);
    expect(() =>
      orders().joinTable(customers, { name: 'j', key: 'customer' as never, join: (o) => o }),
    ).toThrow(/`key` must be a function/);
    expect(() => Tables.kafka({ topic: '' })).toThrow(SluiceError);
  });

  it('types the partner: nullable in a left join only', () => {
    orders().joinTable(customers, {
      name: 'j',
      key: (o) => o.customer,
      join: (o, c) => c.tier.length + o.n,
    });
    orders().leftJoinTable(customers, {
      name: 'j',
      key: (o) => o.customer,
      // @ts-expect-error the partner may be null in a left join
      join: (o, c) => c.tier.length + o.n,
    });
  });
});
