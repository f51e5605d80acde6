import { Pipeline } from '../../src/pipeline/pipeline.js';
import { Sinks } from '../../src/pipeline/sinks.js';
import { Sources } from '../../src/pipeline/sources.js';
import type { PipelineFactory } from '../../src/runtime/pipeline-host.js';

/** The topics and pipeline name every simulated world uses. */
export const SOURCE = 'in';
export const SINK = 'out';
export const PIPELINE = 'sums';

/** An input record's value, as produced (JSON). */
export interface Input {
  key: string;
  v: number;
  /** The workers' code throws on it until the fix is deployed (`World.fixed`). */
  poison?: true;
}

/**
 * A stateless stage, then a keyed running sum: two hops and a repartition topic. The stateless
 * stage has a bug, a poisoned record throws, until `fixed()` says the fix is deployed.
 */
export function sums(fixed: () => boolean): PipelineFactory {
  return (args) =>
    Pipeline.create()
      .readFrom<Input>(Sources.kafka({ topic: args.input ?? SOURCE, format: 'json' }))
      .map(
        (r) => {
          if (r.poison && !fixed()) throw new Error(`poisoned input ${r.key} +${r.v}`);
          return { key: r.key, v: r.v };
        },
        { name: 'clean' },
      )
      .groupingKey((r) => r.key)
      .aggregate({ name: 'sums', init: () => 0, add: (sum, r) => sum + r.v })
      .writeTo(Sinks.kafka({ topic: args.output ?? SINK, format: 'json' }));
}
