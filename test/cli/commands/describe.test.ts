import { describe, expect, it } from 'vitest';
import { render } from '../../../src/cli/commands/describe.js';
import { describePipeline } from '../../../src/node/describe.js';
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
});
