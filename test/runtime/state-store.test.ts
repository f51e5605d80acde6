import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StateStore, type StateWrite } from '../../src/runtime/state-store.js';

describe('StateStore', () => {
  it('returns undefined for a key never written', () => {
    const s = new StateStore();
    expect(s.get('agg', 'k')).toBeUndefined();
    expect(s.size('agg')).toBe(0);
    expect(s.pendingWrites()).toEqual([]);
    expect(s.mark()).toBe(0);
  });

  it('reads see pending writes, which are not yet committed', () => {
    const s = new StateStore();
    s.put('agg', 'k', 1);
    expect(s.get('agg', 'k')).toBe(1);
    expect(s.size('agg')).toBe(0);
    s.put('agg', 'k', 2);
    expect(s.get('agg', 'k')).toBe(2);
    expect(s.pendingWrites()).toEqual([
      { stage: 'agg', key: 'k', value: 1 },
      { stage: 'agg', key: 'k', value: 2 },
    ]);
    // The changelog gets the key's last value only: the earlier one would be compacted away.
    expect(s.changelogWrites()).toEqual([{ stage: 'agg', key: 'k', value: 2 }]);
  });

  it('keeps stages apart', () => {
    const s = new StateStore();
    s.put('a', 'k', 1);
    s.put('b', 'k', 2);
    expect(s.get('a', 'k')).toBe(1);
    expect(s.get('b', 'k')).toBe(2);
    s.commit();
    expect(s.size('a')).toBe(1);
    expect(s.size('b')).toBe(1);
    expect(s.size('c')).toBe(0);
  });

  it('a pending write shadows the committed value, even when it is undefined', () => {
    const s = new StateStore();
    s.restore('agg', 'k', 'committed');
    s.put('agg', 'k', undefined);
    expect(s.get('agg', 'k')).toBeUndefined();
    s.rollback();
    expect(s.get('agg', 'k')).toBe('committed');
  });

  it('rollback drops every pending write and keeps the committed state', () => {
    const s = new StateStore();
    s.put('agg', 'a', 1);
    s.commit();
    s.put('agg', 'a', 2);
    s.put('agg', 'b', 3);
    s.rollback();
    expect(s.get('agg', 'a')).toBe(1);
    expect(s.get('agg', 'b')).toBeUndefined();
    expect(s.pendingWrites()).toEqual([]);
    expect(s.mark()).toBe(0);
    expect(s.size('agg')).toBe(1);
  });

  it('commit makes pending writes permanent and empties the pending layer', () => {
    const s = new StateStore();
    s.put('agg', 'a', 1);
    s.put('agg', 'b', 2);
    s.put('agg', 'a', 3);
    s.commit();
    expect(s.pendingWrites()).toEqual([]);
    expect(s.size('agg')).toBe(2);
    s.rollback();
    expect(s.get('agg', 'a')).toBe(3);
    expect(s.get('agg', 'b')).toBe(2);
  });

  it('revertTo(mark) keeps the earlier writes of the batch and drops the later ones', () => {
    const s = new StateStore();
    s.put('agg', 'x', 'committed');
    s.commit();
    s.put('agg', 'a', 1);
    s.put('agg', 'x', 'first');
    const mark = s.mark();
    expect(mark).toBe(2);
    s.put('agg', 'x', 'second');
    s.put('agg', 'b', 2);
    s.put('other', 'a', 9);
    s.revertTo(mark);
    expect(s.get('agg', 'a')).toBe(1);
    expect(s.get('agg', 'x')).toBe('first');
    expect(s.get('agg', 'b')).toBeUndefined();
    expect(s.get('other', 'a')).toBeUndefined();
    expect(s.pendingWrites()).toEqual([
      { stage: 'agg', key: 'a', value: 1 },
      { stage: 'agg', key: 'x', value: 'first' },
    ]);
    expect(s.mark()).toBe(2);
    s.commit();
    expect(s.get('agg', 'x')).toBe('first');
    expect(s.get('agg', 'b')).toBeUndefined();
    expect(s.size('agg')).toBe(2);
    expect(s.size('other')).toBe(0);
  });

  it('revertTo(0) drops the whole batch; revertTo(current mark) changes nothing', () => {
    const s = new StateStore();
    s.restore('agg', 'k', 0);
    s.put('agg', 'k', 1);
    const m = s.mark();
    s.revertTo(m);
    expect(s.get('agg', 'k')).toBe(1);
    expect(s.pendingWrites()).toHaveLength(1);
    s.revertTo(0);
    expect(s.get('agg', 'k')).toBe(0);
    expect(s.pendingWrites()).toEqual([]);
  });

  it('restore loads committed values, and an undefined value deletes the key', () => {
    const s = new StateStore();
    s.restore('agg', 'a', { n: 1 });
    s.restore('agg', 'b', 2);
    s.restore('agg', 'a', { n: 3 });
    expect(s.get('agg', 'a')).toEqual({ n: 3 });
    expect(s.size('agg')).toBe(2);
    expect(s.pendingWrites()).toEqual([]);
    s.restore('agg', 'a', undefined);
    expect(s.get('agg', 'a')).toBeUndefined();
    expect(s.size('agg')).toBe(1);
    s.restore('agg', 'missing', undefined);
    expect(s.size('agg')).toBe(1);
  });

  it('restore keeps null as a value (only undefined is a tombstone)', () => {
    const s = new StateStore();
    s.restore('agg', 'a', null);
    expect(s.get('agg', 'a')).toBeNull();
    expect(s.size('agg')).toBe(1);
  });

  it('a restore under a pending write is hidden until the write is rolled back', () => {
    const s = new StateStore();
    s.put('agg', 'a', 'pending');
    s.restore('agg', 'a', 'restored');
    expect(s.get('agg', 'a')).toBe('pending');
    s.rollback();
    expect(s.get('agg', 'a')).toBe('restored');
  });
});

// ---------------------------------------------------------------------------------------------
// Model-based property: the store's visible state always equals a plain model.

const STAGES = ['s1', 's2'] as const;
const KEYS = ['a', 'b', 'c'] as const;

type Op =
  | { op: 'put'; stage: string; key: string; value: number | undefined }
  | { op: 'mark' }
  | { op: 'revertTo'; which: number; raw: boolean }
  | { op: 'commit' }
  | { op: 'rollback' }
  | { op: 'restore'; stage: string; key: string; value: number | undefined };

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      stage: fc.constantFrom(...STAGES),
      key: fc.constantFrom(...KEYS),
      value: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined, freq: 8 }),
    }),
    weight: 6,
  },
  { arbitrary: fc.constant({ op: 'mark' as const }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('revertTo' as const),
      which: fc.nat(10),
      raw: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ op: 'commit' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'rollback' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant('restore' as const),
      stage: fc.constantFrom(...STAGES),
      key: fc.constantFrom(...KEYS),
      value: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
    }),
    weight: 1,
  },
);

/** The model: a committed map, plus the pending writes as a plain list replayed on every read. */
class Model {
  committed = new Map<string, unknown>();
  writes: StateWrite[] = [];

  get(stage: string, key: string): unknown {
    for (let i = this.writes.length - 1; i >= 0; i--) {
      const w = this.writes[i] as StateWrite;
      if (w.stage === stage && w.key === key) return w.value;
    }
    return this.committed.get(`${stage}/${key}`);
  }

  /** The last pending write of each stage and key. */
  lastPerKey(): StateWrite[] {
    const last = new Map<string, StateWrite>();
    for (const w of this.writes) last.set(`${w.stage}/${w.key}`, w);
    return [...last.values()];
  }

  size(stage: string): number {
    return [...this.committed.keys()].filter((k) => k.startsWith(`${stage}/`)).length;
  }
}

const sorted = (ws: StateWrite[]): StateWrite[] =>
  [...ws].sort((a, b) => `${a.stage}/${a.key}`.localeCompare(`${b.stage}/${b.key}`));

describe('StateStore (model-based)', () => {
  it('random put/mark/revertTo/commit/rollback/restore sequences match a simple model', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 60 }), (ops) => {
        const store = new StateStore();
        const model = new Model();
        const marks: number[] = [];
        for (const o of ops) {
          switch (o.op) {
            case 'put':
              store.put(o.stage, o.key, o.value);
              model.writes.push({ stage: o.stage, key: o.key, value: o.value });
              break;
            case 'mark': {
              const m = store.mark();
              expect(m).toBe(model.writes.length);
              marks.push(m);
              break;
            }
            case 'revertTo': {
              // Either a mark taken earlier (the runtime's use) or any number (past the end: no-op).
              const m =
                o.raw || marks.length === 0 ? o.which : (marks[o.which % marks.length] as number);
              store.revertTo(m);
              model.writes = model.writes.slice(0, m);
              break;
            }
            case 'commit':
              store.commit();
              // A committed undefined is a deletion, as its changelog tombstone restores it.
              for (const w of model.writes)
                if (w.value === undefined) model.committed.delete(`${w.stage}/${w.key}`);
                else model.committed.set(`${w.stage}/${w.key}`, w.value);
              model.writes = [];
              marks.length = 0;
              break;
            case 'rollback':
              store.rollback();
              model.writes = [];
              marks.length = 0;
              break;
            case 'restore':
              store.restore(o.stage, o.key, o.value);
              if (o.value === undefined) model.committed.delete(`${o.stage}/${o.key}`);
              else model.committed.set(`${o.stage}/${o.key}`, o.value);
              break;
          }
          for (const stage of STAGES) {
            for (const key of KEYS) expect(store.get(stage, key)).toBe(model.get(stage, key));
            expect(store.size(stage)).toBe(model.size(stage));
          }
          expect(store.pendingWrites()).toEqual(model.writes);
          expect(sorted(store.changelogWrites())).toEqual(sorted(model.lastPerKey()));
          expect(store.mark()).toBe(model.writes.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('what a rolled-back batch wrote is invisible, whatever it was', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.integer()), { maxLength: 10 }),
        fc.array(fc.tuple(fc.constantFrom(...KEYS), fc.integer()), { maxLength: 10 }),
        (committed, aborted) => {
          const store = new StateStore();
          for (const [k, v] of committed) store.put('s', k, v);
          store.commit();
          const before = KEYS.map((k) => store.get('s', k));
          for (const [k, v] of aborted) store.put('s', k, v);
          store.rollback();
          expect(KEYS.map((k) => store.get('s', k))).toEqual(before);
        },
      ),
    );
  });
});
