import { describe, expect, it } from 'vitest';
import { render } from '../../../src/cli/commands/describe.js';
import { describePipeline } from '../../../src/node/describe.js';
import { Tables } from '../../../src/pipeline/join.js';
import { Pipeline } from '../../../src/pipeline/pipeline.js';
import { Sinks } from '../../../src/pipeline/sinks.js';
import { Sources } from '../../../src/pipeline/sources.js';

describe('sluice describe, rendered', () => {
  it('prints each hop with its stages, state topics, branches and what it writes', () => {
    const def = Pipeline.create()
      .readFrom<{ k: string; n: number }>(Sources.kafka({ topic: 'in', bounded: true }))
      .groupingKey((r) => r.k)
      .aggregate({ name: 'sum', init: () => 0, add: (s, r) => s + r.n })
      .branch(
        { neg: (t) => t.value < 0 },
        { neg: (s) => s.filter((t) => t.value < -10).writeTo(Sinks.kafka({ topic: 'neg' })) },
      );
    expect(render(describePipeline('sums', def, 'sl')).split('\n')).toEqual([
      'sums',
      '  source: in (json, bounded)',
      '  hop 1: group sl.job.<jobId>, reads in',
      '    → writes sl.repartition.<jobId>.sum',
      '  hop 2: group sl.job.<jobId>.sum, repartitioned through sl.repartition.<jobId>.sum',
      '    aggregate    sum  stateful, keyed by groupingKey, state sl.state.<jobId>.sum',
      '    branch       branch-2',
      '      branch neg → neg (json)',
      '        filter       neg.filter-1',
      '      (items no predicate matched are dropped, counted as unrouted)',
      '    → writes neg',
      '  sinks: neg (json)',
    ]);
  });

  it('prints a table join with its table, its kind and its state, in the hop it runs in', () => {
    const def = Pipeline.create()
      .readFrom<{ customer: string }>(Sources.kafka({ topic: 'orders' }))
      .leftJoinTable(Tables.kafka<{ tier: string }>({ topic: 'customers' }), {
        name: 'with-customer',
        key: (o) => o.customer,
        join: (o, c) => ({ ...o, tier: c?.tier ?? null }),
      })
      .writeTo(Sinks.kafka({ topic: 'enriched' }));
    const d = describePipeline('enrich', def, 'sl');
    expect(d.hops[0]?.stages[0]).toMatchObject({
      kind: 'joinTable',
      name: 'with-customer',
      stateful: true,
      stateTopic: 'sl.state.<jobId>.with-customer',
      join: { type: 'left', table: { topic: 'customers', format: 'json' } },
    });
    expect(render(d).split('\n')).toEqual([
      'enrich',
      '  source: orders (json)',
      '  hop 1: group sl.job.<jobId>, reads orders',
      '    joinTable    with-customer  left join with table customers (json, read whole by each task), state sl.state.<jobId>.with-customer',
      '    → writes enriched',
      '  sinks: enriched (json)',
    ]);
  });

  it('prints a stream join with its window and late topic, and the hop that reads its other stream', () => {
    const def = Pipeline.create()
      .readFrom<{ id: string }>(Sources.kafka({ topic: 'orders' }))
      .groupingKey((o) => o.id)
      .joinStream({
        name: 'paid',
        other: Sources.kafka({ topic: 'payments' }),
        otherKey: (p: { orderId: string }) => p.orderId,
        windowMs: 60_000,
        graceMs: 5_000,
        join: (o, p) => ({ ...o, ...p }),
        lateTopic: 'late-paid',
      })
      .writeTo(Sinks.kafka({ topic: 'paid' }));
    expect(render(describePipeline('paid', def, 'sl')).split('\n')).toEqual([
      'paid',
      '  source: orders (json)',
      '  hop 1: group sl.job.<jobId>, reads orders',
      '    → writes sl.repartition.<jobId>.paid',
      '  hop 2: group sl.job.<jobId>.paid, repartitioned through sl.repartition.<jobId>.paid',
      '    joinStream   paid  inner join with stream payments (json) within ±60000 ms, grace 5000 ms, late records → late-paid, state sl.state.<jobId>.paid',
      '    → writes paid, late-paid',
      '  hop 3: group sl.job.<jobId>.paid~other, reads payments (the other side of stream join paid)',
      '    → writes sl.repartition.<jobId>.paid',
      '  sinks: paid (json)',
    ]);
  });
});
