import { describe, expect, it } from 'vitest';
import { progressBar, renderBar, showProgress } from '../../src/cli/progress-bar.js';

function fakeStream(isTTY: boolean): { isTTY: boolean; out: string[]; write(t: string): void } {
  const out: string[] = [];
  return { isTTY, out, write: (t: string) => void out.push(t) };
}

describe('renderBar', () => {
  it('fills in proportion and shows percent and counts', () => {
    expect(renderBar('restore', 450, 1000, 'offsets', 10)).toBe(
      'restore [####······]  45%  450/1000 offsets',
    );
    expect(renderBar('x', 0, 4, '', 4)).toBe('x [····]   0%  0/4');
    expect(renderBar('x', 9, 4, '', 4)).toBe('x [####] 100%  4/4');
    // Nothing to do is done.
    expect(renderBar('x', 0, 0, '', 4)).toBe('x [####] 100%  0/0');
  });
});

describe('showProgress', () => {
  it('is on only at a terminal and never with --json', () => {
    expect(showProgress({}, fakeStream(true))).toBe(true);
    expect(showProgress({ json: true }, fakeStream(true))).toBe(false);
    expect(showProgress({}, fakeStream(false))).toBe(false);
    expect(showProgress({}, { write: () => true })).toBe(false);
  });
});

describe('progressBar', () => {
  it('redraws in place, at most every interval, always at the end, and ends its line', () => {
    let t = 0;
    const stream = fakeStream(true);
    const bar = progressBar({ enabled: true, label: 'r', stream, now: () => t, intervalMs: 100 });
    bar.update(1, 10);
    t = 50;
    bar.update(2, 10); // too soon: skipped
    t = 150;
    bar.update(3, 10, 'r2');
    t = 160;
    bar.update(10, 10); // the end is always drawn
    bar.finish();
    expect(stream.out).toHaveLength(4);
    expect(
      stream.out.every((w, i) => i === 3 || (w.startsWith('\r') && w.endsWith('\x1b[K'))),
    ).toBe(true);
    expect(stream.out[1]).toContain('r2 [');
    expect(stream.out[2]).toContain('10/10');
    expect(stream.out[3]).toBe('\n');
  });

  it('writes nothing when off', () => {
    const stream = fakeStream(false);
    const bar = progressBar({ enabled: false, label: 'r', stream });
    bar.update(1, 2);
    bar.update(2, 2);
    bar.finish();
    expect(stream.out).toEqual([]);
  });
});
