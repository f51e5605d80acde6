import { describe, expect, it } from 'vitest';
import { describePipeline } from '../../src/node/describe.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';

interface Order {
  customer: string;
  amount: number;
}

/** In place (groupByKey), then a repartitioned aggregate, then a branch into two sinks. */
const def = Pipeline.create()
  .readFrom<Order>(Sources.kafka({ topic: 'orders' }))
  .groupByKey()
  .mapWithState({
    name: 'dedup',
    init: () => false,
    fn: (seen: boolean, o: Order) => [true, seen ? undefined : o],
  })
  .groupingKey((o) => o.customer)
  .aggregate({ name: 'totals', init: () => 0, add: (n, o) => n + o.amount })
  .branch(
    { debtors: (t) => t.value < 0 },
    {
      debtors: (s) =>
        s.map((t) => t.key).writeTo(Sinks.kafka({ topic: 'debtors', format: 'string' })),
    },
    { name: 'split', otherwise: (s) => s.writeTo(Sinks.kafka({ topic: 'totals' })) },
  );

describe('describePipeline', () => {
  it('shows the hops the runtime cuts, each stage with its state topic, and the branches', () => {
    const d = describePipeline('totals', def, 'sl');
    expect(d.source).toEqual({ topics: ['orders'], format: 'json', bounded: false });
    expect(d.sinks).toEqual([
      { topic: 'debtors', format: 'string' },
      { topic: 'totals', format: 'json' },
    ]);
    expect(d.hops.map((h) => [h.group, h.reads, h.stages.map((s) => s.name), h.writes])).toEqual([
      ['sl.job.<jobId>', ['orders'], ['dedup'], ['sl.repartition.<jobId>.totals']],
      [
        'sl.job.<jobId>.totals',
        ['sl.repartition.<jobId>.totals'],
        ['totals', 'split'],
        ['debtors', 'totals'],
      ],
    ]);
    const [dedup] = d.hops[0]?.stages ?? [];
    expect(dedup).toMatchObject({
      kind: 'mapWithState',
      stateful: true,
      keyedBy: 'recordKey',
      stateTopic: 'sl.state.<jobId>.dedup',
    });
    const [totals, split] = d.hops[1]?.stages ?? [];
    expect(totals).toMatchObject({ keyedBy: 'groupingKey', stateTopic: 'sl.state.<jobId>.totals' });
    expect(
      split?.branches?.map((b) => [b.name, b.predicate, b.stages.map((s) => s.name), b.sink.topic]),
    ).toEqual([
      ['debtors', true, ['debtors.map-1'], 'debtors'],
      ['otherwise', false, [], 'totals'],
    ]);
  });
});
