import { describe, expect, it } from 'vitest';
import { render } from '../../src/cli/commands/describe.js';
import { isSluiceError } from '../../src/domain/errors.js';
import { describePipeline } from '../../src/node/describe.js';
import { Pipeline, type Stream } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import { Windows, type Windowed } from '../../src/pipeline/windowed.js';

interface Order {
  customer: string;
  amount: number;
  at: number;
}

const orders = (): Stream<Order> =>
  Pipeline.create().readFrom<Order>(Sources.kafka({ topic: 'orders' }));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isSluiceError(err) ? err.code : 'not a SluiceError';
  }
  return undefined;
}

describe('window operators', () => {
  it('are typed from the source to the sink, without casts', () => {
    const totals: Stream<Windowed<number>> = orders()
      .groupingKey((o) => o.customer)
      .window(Windows.tumbling({ sizeMs: 60_000 }), { timestamp: (o) => o.at })
      .aggregate({ name: 'per-minute', init: () => 0, add: (sum, o) => sum + o.amount });
    const line: Stream<string> = totals.map((w) => `${w.key} ${w.start}-${w.end}: ${w.value}`);
    expect(line).toBeDefined();
    // Compiled, never run: what the compiler refuses.
    const refused = (): void => {
      orders()
        .groupingKey((o) => o.customer)
        .window(Windows.session({ gapMs: 1000 }))
        // @ts-expect-error a session window's aggregate must say how to merge two sessions
        .aggregate({ name: 's', init: () => 0, add: (n: number) => n + 1 });
      orders()
        .groupingKey((o) => o.customer)
        // @ts-expect-error the timestamp function sees the stream's type
        .window(Windows.tumbling({ sizeMs: 10 }), { timestamp: (o) => o.when as number });
    };
    expect(refused).toBeTypeOf('function');
  });

  it('refuse a bad window, emit or out-of-orderness, naming every problem', () => {
    expect(code(() => Windows.hopping({ sizeMs: 10, advanceMs: 20 }))).toBe(
      'SLUICE_CONFIG_INVALID',
    );
    expect(code(() => Windows.tumbling({ sizeMs: 0 }))).toBe('SLUICE_CONFIG_INVALID');
    expect(() =>
      orders()
        .groupingKey((o) => o.customer)
        .window(Windows.session({ gapMs: 10 }), { outOfOrderMs: -1 })
        .aggregate({ name: 's', init: () => 0, add: (n: number) => n + 1 } as never),
    ).toThrow(
      'window "s": a session window needs merge: (a, b) => merged, to join two sessions; outOfOrderMs must be a whole number ≥ 0, not -1.',
    );
  });

  it('are stateful stages with a hop, a repartition and a changelog of their own', () => {
    const def = orders()
      .groupingKey((o) => o.customer)
      .window(Windows.hopping({ sizeMs: 60_000, advanceMs: 10_000, graceMs: 5_000 }), {
        outOfOrderMs: 1_000,
        lateTopic: 'late-orders',
      })
      .count({ name: 'counts' })
      .writeTo(Sinks.kafka({ topic: 'counts' }));
    const d = describePipeline('counts', def, 'sl');
    expect(d.hops.map((h) => [h.reads, h.stages.map((s) => s.name)])).toEqual([
      [['orders'], []],
      [['sl.repartition.<jobId>.counts'], ['counts']],
    ]);
    expect(d.hops[1]?.stages[0]).toMatchObject({
      kind: 'window',
      stateful: true,
      stateTopic: 'sl.state.<jobId>.counts',
      window: {
        kind: 'hopping',
        sizeMs: 60_000,
        advanceMs: 10_000,
        graceMs: 5_000,
        outOfOrderMs: 1_000,
        eventTime: 'recordTimestamp',
        emit: 'close',
        lateTopic: 'late-orders',
      },
    });
    expect(render(d).split('\n').slice(4, 8)).toEqual([
      '  hop 2: group sl.job.<jobId>.counts, repartitioned through sl.repartition.<jobId>.counts',
      '    window       counts  stateful, keyed by groupingKey, state sl.state.<jobId>.counts',
      "      window: hopping 60000 ms every 10000 ms, grace 5000 ms, out of order 1000 ms, event time from the records' timestamps; emits when a window closes; late values → late-orders",
      '    → writes counts, late-orders',
    ]);
  });
});
