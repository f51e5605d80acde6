import { Pipeline, type PipelineDef } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';

/**
 * input → price (the broken code throws a RangeError on n = `poison`, the fixed code lets it
 * through) → sum of n per k, after a repartition → output: a job with a poison record, and
 * its fix, for the tests of suspension, dry runs and the console.
 */
export function pricedTotals(fixed: boolean, poison: number) {
  return (args: Record<string, string>): PipelineDef =>
    Pipeline.create()
      .readFrom<{ n: number; k: string }>(Sources.kafka({ topic: args.input ?? '' }))
      .map(
        (r) => {
          if (!fixed && r.n === poison) throw new RangeError(`n=${r.n} has no price`);
          return r;
        },
        { name: 'price' },
      )
      .groupingKey((r) => r.k)
      .aggregate({ name: 'totals', init: () => 0, add: (s: number, r) => s + r.n })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
}
