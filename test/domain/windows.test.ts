import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advance,
  closesAt,
  isClosed,
  mergeSession,
  NO_PROGRESS,
  watermarkOf,
  windowProblems,
  windowsOf,
  type WindowSpec,
} from '../../src/domain/windows.js';

describe('window assignment', () => {
  it('a tumbling window is aligned to the epoch, start included, end excluded', () => {
    const spec: WindowSpec = { kind: 'tumbling', sizeMs: 1000, graceMs: 0 };
    expect(windowsOf(spec, 0)).toEqual([{ start: 0, end: 1000 }]);
    expect(windowsOf(spec, 999)).toEqual([{ start: 0, end: 1000 }]);
    expect(windowsOf(spec, 1000)).toEqual([{ start: 1000, end: 2000 }]);
    expect(windowsOf(spec, -1)).toEqual([{ start: -1000, end: 0 }]);
  });

  it('a hopping window: every window holding the time, oldest first', () => {
    const spec: WindowSpec = { kind: 'hopping', sizeMs: 10, advanceMs: 4, graceMs: 0 };
    expect(windowsOf(spec, 9)).toEqual([
      { start: 0, end: 10 },
      { start: 4, end: 14 },
      { start: 8, end: 18 },
    ]);
    expect(windowsOf(spec, 12)).toEqual([
      { start: 4, end: 14 },
      { start: 8, end: 18 },
      { start: 12, end: 22 },
    ]);
  });

  it('property: hopping windows are exactly the aligned windows holding the time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        (a, b, ts) => {
          const [advanceMs, sizeMs] = a <= b ? [a, b] : [b, a];
          const want = [];
          for (let k = Math.floor((ts - sizeMs) / advanceMs) - 1; k * advanceMs <= ts; k++)
            if (k * advanceMs + sizeMs > ts)
              want.push({ start: k * advanceMs, end: k * advanceMs + sizeMs });
          expect(windowsOf({ kind: 'hopping', sizeMs, advanceMs, graceMs: 0 }, ts)).toEqual(want);
        },
      ),
    );
  });

  it('closes a window once the watermark reaches its end plus grace', () => {
    const spec: WindowSpec = { kind: 'tumbling', sizeMs: 10, graceMs: 5 };
    expect(closesAt(spec, { start: 0, end: 10 })).toBe(15);
    expect(isClosed(spec, { start: 0, end: 10 }, 14)).toBe(false);
    expect(isClosed(spec, { start: 0, end: 10 }, 15)).toBe(true);
  });
});

describe('sessions', () => {
  const spec = { kind: 'session', gapMs: 10, graceMs: 0 } as const;

  it('a record alone makes [ts, ts + gap)', () => {
    expect(mergeSession(spec, [], 100)).toEqual({ span: { start: 100, end: 110 }, merged: [] });
  });

  it('records at most gap apart share a session; touching spans merge', () => {
    expect(mergeSession(spec, [{ start: 100, end: 110 }], 110)).toEqual({
      span: { start: 100, end: 120 },
      merged: [0],
    });
    expect(mergeSession(spec, [{ start: 100, end: 110 }], 121).merged).toEqual([]);
  });

  it('a record between two sessions merges them', () => {
    const open = [
      { start: 100, end: 110 },
      { start: 118, end: 128 },
    ];
    expect(mergeSession(spec, open, 109)).toEqual({
      span: { start: 100, end: 128 },
      merged: [0, 1],
    });
  });

  it('an out-of-order record before a session extends its start', () => {
    expect(mergeSession(spec, [{ start: 100, end: 110 }], 92)).toEqual({
      span: { start: 92, end: 110 },
      merged: [0],
    });
  });
});

describe('watermarks', () => {
  it('trail the largest event time seen by the allowed out-of-orderness', () => {
    let p = advance(NO_PROGRESS, 1000);
    p = advance(p, 900);
    expect(p).toEqual({ maxTs: 1000 });
    expect(watermarkOf(p, 100)).toBe(900);
  });

  it('property: never go back, whatever the order of the records', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 })), (times) => {
        let p = NO_PROGRESS;
        let last = -Infinity;
        for (const t of times) {
          p = advance(p, t);
          expect(watermarkOf(p, 5)).toBeGreaterThanOrEqual(last);
          last = watermarkOf(p, 5);
        }
      }),
    );
  });
});

describe('window definitions', () => {
  it('name every problem', () => {
    expect(windowProblems({ kind: 'hopping', sizeMs: 10, advanceMs: 20, graceMs: -1 })).toEqual([
      'advanceMs (20) must not exceed sizeMs (10), or some records fall in no window',
      'graceMs must be a whole number of milliseconds ≥ 0, not -1',
    ]);
    expect(windowProblems({ kind: 'session', gapMs: 0.5, graceMs: 0 })).toHaveLength(1);
    expect(windowProblems({ kind: 'tumbling', sizeMs: 60_000, graceMs: 0 })).toEqual([]);
  });
});
