import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import type { StageDef } from '../../src/pipeline/stages.js';
import { execute, StageFailure } from '../../src/runtime/execute.js';
import { StateStore } from '../../src/runtime/state-store.js';

/** Runs `run` and returns what it threw or rejected with, failing the test if it did neither. */
async function rejection(run: () => unknown): Promise<unknown> {
  try {
    await run(); // a failure may be thrown at once (sync user code) or rejected
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got none');
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('execute: stateless stages', () => {
  it('passes the input through when there are no stages', async () => {
    expect(await execute([], { a: 1 }, new StateStore())).toEqual([{ key: null, value: { a: 1 } }]);
  });

  it('chains map, filter and flatMap in order', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .map((n) => n * 10)
      .filter((n) => n !== 20)
      .flatMap((n) => [n, n + 1])
      .map((n) => `v${n}`)
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    expect(await execute(stages, 1, state)).toEqual([
      { key: null, value: 'v10' },
      { key: null, value: 'v11' },
    ]);
    expect(await execute(stages, 2, state)).toEqual([]);
    expect(await execute(stages, 3, state)).toEqual([
      { key: null, value: 'v30' },
      { key: null, value: 'v31' },
    ]);
    expect(state.pendingWrites()).toEqual([]);
  });

  it('awaits async user functions', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .map(async (n) => {
        await tick();
        return n + 1;
      })
      .filter(async (n) => {
        await tick();
        return n % 2 === 0;
      })
      .flatMap(async (n) => {
        await tick();
        return new Set([n, n * 2]);
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    expect(await execute(stages, 1, new StateStore())).toEqual([
      { key: null, value: 2 },
      { key: null, value: 4 },
    ]);
    expect(await execute(stages, 2, new StateStore())).toEqual([]);
  });

  it('runs synchronous stages without a promise: the result is the outputs themselves', () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .flatMap((n) => [n, n + 1])
      .map((n) => n * 2)
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    expect(execute(stages, 1, new StateStore())).toEqual([
      { key: null, value: 2 },
      { key: null, value: 4 },
    ]);
  });

  it('keeps the order when only some values wait: async for one item, sync for the others', async () => {
    const calls: string[] = [];
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .flatMap((n) => [n, n + 1, n + 2])
      .map((n) => {
        calls.push(`map ${n}`);
        if (n !== 2) return n * 10;
        return tick().then(() => n * 10); // the second of three waits
      })
      .groupingKey(() => 'k')
      .aggregate({
        name: 'sum',
        init: () => 0,
        add: (s, n) => {
          calls.push(`add ${n}`);
          return s + n;
        },
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    const run = execute(stages, 1, state);
    expect(run).toBeInstanceOf(Promise);
    expect((await run).map((o) => o.value)).toEqual([
      { key: 'k', value: 10 },
      { key: 'k', value: 30 },
      { key: 'k', value: 60 },
    ]);
    // Every map before any add, each stage in input order, as when everything was awaited.
    expect(calls).toEqual(['map 1', 'map 2', 'map 3', 'add 10', 'add 20', 'add 30']);
    expect(state.pendingWrites().map((w) => w.value)).toEqual([10, 30, 60]);
  });

  it('stops at an empty flatMap without calling later stages', async () => {
    let later = 0;
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .flatMap(() => [])
      .map((v) => {
        later++;
        return v;
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    expect(await execute(stages, 'x', new StateStore())).toEqual([]);
    expect(later).toBe(0);
  });

  it('accepts any iterable from flatMap, such as a generator', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .flatMap(function* (n) {
        for (let i = 0; i < n; i++) yield i;
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    expect((await execute(stages, 3, new StateStore())).map((o) => o.value)).toEqual([0, 1, 2]);
  });
});

describe('execute: stateful stages', () => {
  const totals = () =>
    Pipeline.create()
      .readFrom<{ customer: string; amount: number }>(Sources.kafka({ topic: 'in' }))
      .groupingKey((o) => o.customer)
      .aggregate({ name: 'totals', init: () => 100, add: (sum, o) => sum + o.amount })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;

  it('aggregate emits { key, value } per update, keyed by the grouping key', async () => {
    const stages = totals();
    const state = new StateStore();
    expect(await execute(stages, { customer: 'a', amount: 5 }, state)).toEqual([
      { key: 'a', value: { key: 'a', value: 105 } },
    ]);
    expect(await execute(stages, { customer: 'b', amount: 1 }, state)).toEqual([
      { key: 'b', value: { key: 'b', value: 101 } },
    ]);
    expect(await execute(stages, { customer: 'a', amount: 2 }, state)).toEqual([
      { key: 'a', value: { key: 'a', value: 107 } },
    ]);
    expect(state.get('totals', 'a')).toBe(107);
    expect(state.get('totals', 'b')).toBe(101);
    expect(state.pendingWrites()).toEqual([
      { stage: 'totals', key: 'a', value: 105 },
      { stage: 'totals', key: 'b', value: 101 },
      { stage: 'totals', key: 'a', value: 107 },
    ]);
  });

  it('aggregate continues from committed (and restored) state', async () => {
    const stages = totals();
    const state = new StateStore();
    state.restore('totals', 'a', 40);
    expect(await execute(stages, { customer: 'a', amount: 2 }, state)).toEqual([
      { key: 'a', value: { key: 'a', value: 42 } },
    ]);
    state.commit();
    expect(await execute(stages, { customer: 'a', amount: 3 }, state)).toEqual([
      { key: 'a', value: { key: 'a', value: 45 } },
    ]);
  });

  it('aggregate calls init only for a key it has no state for', async () => {
    let inits = 0;
    const stages = Pipeline.create()
      .readFrom<string>(Sources.kafka({ topic: 'in' }))
      .groupingKey((s) => s)
      .aggregate({
        name: 'count',
        init: () => {
          inits++;
          return 0;
        },
        add: (n) => n + 1,
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    for (const v of ['x', 'x', 'y', 'x']) await execute(stages, v, state);
    expect(inits).toBe(2);
    expect(state.get('count', 'x')).toBe(3);
  });

  it('aggregate awaits an async add', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .groupingKey(() => 'k')
      .aggregate({
        name: 'sum',
        init: () => 0,
        add: async (s, n) => {
          await tick();
          return s + n;
        },
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    await execute(stages, 2, state);
    expect(await execute(stages, 3, state)).toEqual([{ key: 'k', value: { key: 'k', value: 5 } }]);
  });

  it('keeps separate state per stateful stage even for the same key', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .groupingKey(() => 'k')
      .aggregate({ name: 'sum', init: () => 0, add: (s, n) => s + n })
      .map((kv) => kv.value)
      .groupingKey(() => 'k')
      .aggregate({ name: 'count', init: () => 0, add: (c) => c + 1 })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    await execute(stages, 10, state);
    expect(await execute(stages, 5, state)).toEqual([{ key: 'k', value: { key: 'k', value: 2 } }]);
    expect(state.get('sum', 'k')).toBe(15);
    expect(state.get('count', 'k')).toBe(2);
  });

  it('mapWithState with an undefined output emits nothing but updates state', async () => {
    const seen: [number, string, string][] = [];
    const stages = Pipeline.create()
      .readFrom<{ user: string; page: string }>(Sources.kafka({ topic: 'in' }))
      .groupingKey((e) => e.user)
      .mapWithState<number, string>({
        name: 'every-third',
        init: () => 0,
        fn: (count, e, key) => {
          seen.push([count, e.page, key]);
          const next = count + 1;
          return [next, next % 3 === 0 ? `${key} saw ${next}` : undefined];
        },
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    expect(await execute(stages, { user: 'u', page: 'p1' }, state)).toEqual([]);
    expect(state.get('every-third', 'u')).toBe(1);
    expect(await execute(stages, { user: 'u', page: 'p2' }, state)).toEqual([]);
    expect(state.get('every-third', 'u')).toBe(2);
    expect(await execute(stages, { user: 'u', page: 'p3' }, state)).toEqual([
      { key: 'u', value: 'u saw 3' },
    ]);
    expect(state.get('every-third', 'u')).toBe(3);
    expect(seen).toEqual([
      [0, 'p1', 'u'],
      [1, 'p2', 'u'],
      [2, 'p3', 'u'],
    ]);
  });

  it('mapWithState emits a null output (only undefined means none)', async () => {
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .groupingKey(() => 'k')
      .mapWithState<number, null>({ name: 's', init: () => 0, fn: (s) => [s + 1, null] })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    expect(await execute(stages, 'x', new StateStore())).toEqual([{ key: 'k', value: null }]);
  });

  it('a flatMap before an aggregate sends every produced value to it', async () => {
    const stages = Pipeline.create()
      .readFrom<string>(Sources.kafka({ topic: 'in' }))
      .flatMap((line) => line.split(' '))
      .groupingKey((word) => word)
      .aggregate({ name: 'word-count', init: () => 0, add: (n) => n + 1 })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    expect(await execute(stages, 'a b a', state)).toEqual([
      { key: 'a', value: { key: 'a', value: 1 } },
      { key: 'b', value: { key: 'b', value: 1 } },
      { key: 'a', value: { key: 'a', value: 2 } },
    ]);
    expect(await execute(stages, 'b', state)).toEqual([
      { key: 'b', value: { key: 'b', value: 2 } },
    ]);
    expect(state.pendingWrites()).toHaveLength(4);
  });

  it('keeps the grouping key on outputs of stateless stages after a stateful one', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .groupingKey((n) => (n % 2 === 0 ? 'even' : 'odd'))
      .aggregate({ name: 'sum', init: () => 0, add: (s, n) => s + n })
      .map((kv) => kv.value * 2)
      .flatMap((n) => [n, -n])
      .filter((n) => n > 0)
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    expect(await execute(stages, 3, new StateStore())).toEqual([{ key: 'odd', value: 6 }]);
  });
});

describe('execute: failures', () => {
  it('wraps a throwing stage in StageFailure naming that stage, with the original cause', async () => {
    const boom = new TypeError('no amount');
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .map((v) => v, { name: 'first' })
      .map(
        () => {
          throw boom;
        },
        { name: 'price' },
      )
      .map((v) => v, { name: 'last' })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const err = await rejection(() => execute(stages, 1, new StateStore()));
    expect(err).toBeInstanceOf(StageFailure);
    const failure = err as StageFailure;
    expect(failure.stage).toBe('price');
    expect(failure.cause).toBe(boom);
    expect(failure.name).toBe('StageFailure');
    expect(failure.message).toBe('stage "price" failed: no amount');
  });

  it('names the derived stage of a throwing filter', async () => {
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .map((v) => v)
      .filter(() => {
        throw new Error('bad');
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const err = await rejection(() => execute(stages, 1, new StateStore()));
    expect((err as StageFailure).stage).toBe('filter-2');
  });

  it('wraps an async rejection, and a non-Error thrown value', async () => {
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .flatMap(async () => {
        await tick();
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'plain string';
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const err = await rejection(() => execute(stages, 1, new StateStore()));
    expect(err).toBeInstanceOf(StageFailure);
    expect((err as StageFailure).stage).toBe('flatMap-1');
    expect((err as StageFailure).cause).toBe('plain string');
    expect((err as StageFailure).message).toBe('stage "flatMap-1" failed: plain string');
  });

  it('reports a flatMap that returns a non-iterable as a failure of that stage', async () => {
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .flatMap(() => 42 as unknown as number[], { name: 'explode' })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const err = await rejection(() => execute(stages, 1, new StateStore()));
    expect((err as StageFailure).stage).toBe('explode');
    expect((err as StageFailure).cause).toBeInstanceOf(TypeError);
  });

  it('names the stateful stage when its key function, init or add throws', async () => {
    const keyBoom = new Error('key');
    const initBoom = new Error('init');
    const addBoom = new Error('add');
    const make = (key: () => string, init: () => number, add: () => number) =>
      Pipeline.create()
        .readFrom(Sources.kafka({ topic: 'in' }))
        .groupingKey(key)
        .aggregate({ name: 'agg', init, add })
        .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const cases: [StageDef[], Error][] = [
      [
        make(
          () => {
            throw keyBoom;
          },
          () => 0,
          () => 0,
        ),
        keyBoom,
      ],
      [
        make(
          () => 'k',
          () => {
            throw initBoom;
          },
          () => 0,
        ),
        initBoom,
      ],
      [
        make(
          () => 'k',
          () => 0,
          () => {
            throw addBoom;
          },
        ),
        addBoom,
      ],
    ];
    for (const [stages, cause] of cases) {
      const state = new StateStore();
      const err = await rejection(() => execute(stages, 1, state));
      expect(err).toBeInstanceOf(StageFailure);
      expect((err as StageFailure).stage).toBe('agg');
      expect((err as StageFailure).cause).toBe(cause);
      expect(state.pendingWrites()).toEqual([]);
    }
  });

  it('names a throwing mapWithState and leaves its state unwritten', async () => {
    const stages = Pipeline.create()
      .readFrom(Sources.kafka({ topic: 'in' }))
      .groupingKey(() => 'k')
      .mapWithState({
        name: 'sessions',
        init: () => 0,
        fn: async (): Promise<[number, string]> => {
          await tick();
          throw new RangeError('too long');
        },
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    const err = await rejection(() => execute(stages, 1, state));
    expect((err as StageFailure).stage).toBe('sessions');
    expect((err as StageFailure).cause).toBeInstanceOf(RangeError);
    expect(state.get('sessions', 'k')).toBeUndefined();
  });

  it('leaves earlier stateful writes pending when a later stage throws (revertTo undoes them)', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .groupingKey(() => 'k')
      .aggregate({ name: 'sum', init: () => 0, add: (s, n) => s + n })
      .map(
        (kv) => {
          if (kv.value > 10) throw new Error('too big');
          return kv;
        },
        { name: 'check' },
      )
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    await execute(stages, 4, state);
    const mark = state.mark();
    const err = await rejection(() => execute(stages, 20, state));
    expect((err as StageFailure).stage).toBe('check');
    expect(state.get('sum', 'k')).toBe(24);
    state.revertTo(mark);
    expect(state.get('sum', 'k')).toBe(4);
    expect(state.pendingWrites()).toEqual([{ stage: 'sum', key: 'k', value: 4 }]);
  });

  // User code may update its state in place (Jet style); a failing record must not leave its
  // change behind in the committed state.
  it('reverting a failed record undoes an in-place state update', async () => {
    const stages = Pipeline.create()
      .readFrom<number>(Sources.kafka({ topic: 'in' }))
      .groupingKey(() => 'k')
      .aggregate({
        name: 'acc',
        init: () => ({ n: 0 }),
        add: (acc, v) => {
          acc.n += v;
          return acc;
        },
      })
      .map((kv) => {
        if (kv.value.n > 10) throw new Error('too big');
        return kv;
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    await execute(stages, 1, state);
    state.commit();
    const mark = state.mark();
    await rejection(() => execute(stages, 100, state));
    state.revertTo(mark);
    expect(state.get('acc', 'k')).toEqual({ n: 1 });
  });
});
