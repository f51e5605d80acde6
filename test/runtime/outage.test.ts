import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/kafka/memory/index.js';
import { OutageWatch } from '../../src/runtime/outage.js';

function watch(budgetMs = 5_000) {
  const clock = new VirtualClock();
  const spent: { err: unknown; attempts: number; elapsedMs: number }[] = [];
  const w = new OutageWatch(budgetMs, clock, (err, attempts, elapsedMs) =>
    spent.push({ err, attempts, elapsedMs }),
  );
  return { clock, w, spent };
}

describe('OutageWatch', () => {
  it('calls spent once the budget has passed since the first failure with no success, with the last error', async () => {
    const { clock, w, spent } = watch();
    w.failed(new Error('first'));
    await clock.advance(3_000);
    w.failed(new Error('second'));
    await clock.advance(1_999);
    expect(spent).toEqual([]);
    await clock.advance(1);
    expect(spent).toHaveLength(1);
    expect(spent[0]).toMatchObject({ attempts: 2, elapsedMs: 5_000 });
    expect((spent[0]?.err as Error).message).toBe('second');
    await clock.advance(60_000);
    expect(spent).toHaveLength(1);
  });

  it('is disarmed by a success, and counts afresh from the next failure', async () => {
    const { clock, w, spent } = watch();
    w.failed(new Error('a'));
    await clock.advance(4_000);
    w.succeeded();
    await clock.advance(4_000);
    w.failed(new Error('b'));
    await clock.advance(4_999);
    expect(spent).toEqual([]);
    await clock.advance(1);
    expect(spent.map((s) => s.elapsedMs)).toEqual([5_000]);
  });

  it('never fires once stopped', async () => {
    const { clock, w, spent } = watch();
    w.failed(new Error('a'));
    w.stop();
    await clock.advance(60_000);
    expect(spent).toEqual([]);
  });
});
