import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import type { StageDef } from '../../src/pipeline/stages.js';
import { Windows, type WindowDef, type Windowed } from '../../src/pipeline/windowed.js';
import { execute, StageFailure } from '../../src/runtime/execute.js';
import { StateStore } from '../../src/runtime/state-store.js';
import {
  byWindow,
  windowCounts,
  type ModelWindow,
  type TimedRecord,
  type WindowCount,
} from '../support/windows-model.js';

// The window stage run record by record on a task's state store, against the model in
// test/support/windows-model.ts (computed from the input alone): random keys and times, out of
// order and late, committed now and then, every window count and every late record exact.

interface In {
  k: string;
  ts: number;
}

function stages(def: WindowDef, lag: number, emit: 'close' | 'update' = 'close'): StageDef[] {
  return Pipeline.create()
    .readFrom<In>(Sources.kafka({ topic: 'in' }))
    .groupingKey((v) => v.k)
    .window(def, { timestamp: (v) => v.ts, outOfOrderMs: lag })
    .count({ name: 'counts', emit })
    .writeTo(Sinks.kafka({ topic: 'out' })).stages;
}

/** Runs the records, committing every `commitEvery`; the results emitted and the late values. */
function run(
  st: StageDef[],
  records: readonly TimedRecord[],
  commitEvery: number,
): { results: WindowCount[]; late: TimedRecord[]; state: StateStore } {
  const state = new StateStore();
  const results: WindowCount[] = [];
  const late: TimedRecord[] = [];
  records.forEach((r, i) => {
    const outs = execute(st, { k: r.key, ts: r.ts }, state);
    if (outs instanceof Promise) throw new Error('synchronous stages ran asynchronously');
    for (const o of outs) results.push(o.value as Windowed<number>);
    for (const l of state.time.late.splice(0)) late.push({ key: l.key, ts: l.ts });
    if (i % commitEvery === 0) state.commit();
  });
  state.commit();
  return { results, late, state };
}

const records = fc.array(
  fc.record({ key: fc.constantFrom('a', 'b', 'c'), ts: fc.integer({ min: 0, max: 400 }) }),
  { maxLength: 120 },
);

const cases: { name: string; def: WindowDef; model: ModelWindow }[] = [
  {
    name: 'tumbling',
    def: Windows.tumbling({ sizeMs: 50, graceMs: 0 }),
    model: { kind: 'tumbling', size: 50 },
  },
  {
    name: 'hopping',
    def: Windows.hopping({ sizeMs: 50, advanceMs: 20, graceMs: 0 }),
    model: { kind: 'hopping', size: 50, advance: 20 },
  },
  {
    name: 'session',
    def: Windows.session({ gapMs: 15, graceMs: 0 }),
    model: { kind: 'session', gap: 15 },
  },
];

describe('window stages against a model computed from the input', () => {
  for (const c of cases)
    it(`${c.name}: every closed window's count and every late value, exactly`, () => {
      fc.assert(
        fc.property(
          records,
          fc.integer({ min: 0, max: 30 }),
          fc.integer({ min: 0, max: 30 }),
          fc.integer({ min: 1, max: 10 }),
          (input, grace, lag, commitEvery) => {
            const def = { spec: { ...c.def.spec, graceMs: grace } } as WindowDef;
            const got = run(stages(def, lag), input, commitEvery);
            const want = windowCounts(input, c.model, grace, lag);
            expect([...got.results].sort(byWindow)).toEqual([...want.closed].sort(byWindow));
            expect(got.late).toEqual(want.late);
          },
        ),
      );
    });

  it('emits in order of window end, then key, once the watermark passes end plus grace', () => {
    const st = stages(Windows.tumbling({ sizeMs: 10, graceMs: 5 }), 0);
    const got = run(
      st,
      [
        { key: 'b', ts: 1 },
        { key: 'a', ts: 2 },
        { key: 'a', ts: 12 },
        { key: 'b', ts: 14 },
        { key: 'a', ts: 8 }, // out of order, within grace: counted
        { key: 'b', ts: 15 }, // closes [0, 10)
        { key: 'a', ts: 3 }, // late: dropped
      ],
      1,
    );
    expect(got.results).toEqual([
      { key: 'a', start: 0, end: 10, value: 2 },
      { key: 'b', start: 0, end: 10, value: 1 },
    ]);
    expect(got.late).toEqual([{ key: 'a', ts: 3 }]);
  });

  it("emit: 'update' emits every change; a merged session is emitted as one", () => {
    const st = stages(Windows.session({ gapMs: 10, graceMs: 20 }), 0, 'update');
    const got = run(
      st,
      [
        { key: 'a', ts: 0 },
        { key: 'a', ts: 18 },
        { key: 'a', ts: 9 },
      ],
      1,
    );
    expect(got.results).toEqual([
      { key: 'a', start: 0, end: 10, value: 1 },
      { key: 'a', start: 18, end: 28, value: 1 },
      { key: 'a', start: 0, end: 28, value: 3 },
    ]);
  });

  it('removes closed windows from state, deleting a key left with none', () => {
    const st = stages(Windows.tumbling({ sizeMs: 10 }), 0);
    const { state } = run(
      st,
      [
        { key: 'a', ts: 1 },
        { key: 'b', ts: 25 },
      ],
      1,
    );
    // a's window closed: only b's windows and the progress remain.
    expect(
      state
        .entries('counts')
        .map(([k]) => k)
        .sort(),
    ).toEqual(['kb', 'm']);
  });

  it('a throwing add fails in the stage, by name; the state is left to the chunk to revert', () => {
    const st = Pipeline.create()
      .readFrom<In>(Sources.kafka({ topic: 'in' }))
      .groupingKey((v) => v.k)
      .window(Windows.tumbling({ sizeMs: 10 }), { timestamp: (v) => v.ts })
      .aggregate({
        name: 'sums',
        init: () => 0,
        add: (n, v) => {
          if (v.ts === 13) throw new Error('poison');
          return n + v.ts;
        },
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    expect(execute(st, { k: 'a', ts: 1 }, state)).toEqual([]);
    state.commit();
    const mark = state.mark();
    expect(() => execute(st, { k: 'a', ts: 13 }, state)).toThrow(StageFailure);
    state.revertTo(mark);
    expect(state.get('sums', 'ka')).toEqual([{ start: 0, end: 10, value: 1 }]);
  });

  it('refuses a value without a usable event time, naming the stage', () => {
    const st = stages(Windows.tumbling({ sizeMs: 10 }), 0);
    expect(() => execute(st, { k: 'a', ts: Number.NaN }, new StateStore())).toThrow(
      /stage "counts" failed: window "counts": the event time of a value of key "a" is NaN/,
    );
  });

  it('awaits an async add in order', async () => {
    const st = Pipeline.create()
      .readFrom<In>(Sources.kafka({ topic: 'in' }))
      .groupingKey((v) => v.k)
      .window(Windows.hopping({ sizeMs: 10, advanceMs: 5 }), { timestamp: (v) => v.ts })
      .aggregate({
        name: 'ts',
        init: () => [] as number[],
        add: (l, v) => Promise.resolve([...l, v.ts]),
      })
      .writeTo(Sinks.kafka({ topic: 'out' })).stages;
    const state = new StateStore();
    for (const ts of [6, 7, 30]) await execute(st, { k: 'a', ts }, state);
    expect(state.get('ts', 'ka')).toEqual([
      { start: 25, end: 35, value: [30] },
      { start: 30, end: 40, value: [30] },
    ]);
  });
});
