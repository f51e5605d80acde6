// The Sluice side of `npm run bench:peers` (test/bench/peers.bench.ts), and the list of cases
// that bench runs. This module is both:
// - the pipeline module the bench's worker hosts (`sluice worker test/bench/peers/pipelines.ts`,
//   loaded through tsx): its default export maps each case's name to its pipeline factory;
// - the bench's list of cases: each names the Kafka Streams topology it is compared with
//   (test/bench/peers/kafka-streams, PeerApp.java) and how its output is known to be exact.
// To compare another Sluice variant, add one entry to CASES: a new name, the same topology and
// check as the case it is a variant of, and its factory. Nothing else needs to change; the bench
// runs every entry (BENCH_ONLY=name,... picks some).
import { Tables } from '../../../src/pipeline/join.js';
import { Pipeline, type PipelineDef, type Stream } from '../../../src/pipeline/pipeline.js';
import { Sinks } from '../../../src/pipeline/sinks.js';
import { Sources } from '../../../src/pipeline/sources.js';
import type { Emit } from '../../../src/pipeline/stages.js';
import { Windows } from '../../../src/pipeline/windowed.js';

/** An input record, written with record key = k. */
export interface Rec {
  k: string;
  n: number;
}

/** The Kafka Streams topologies of PeerApp.java (its --topology flag). */
export type Topology =
  'map' | 'rekey-aggregate' | 'key-aggregate' | 'windowed-count' | 'table-join';

/**
 * When a run's output is exact, read_committed from the start of its output topic:
 * - `all-records`: as many records as the input holds (one output per input);
 * - `latest-per-key`: the latest value ({"key", "value"}, keyed by the key) of every key equals
 *   the key's total of n over the input;
 * - `window-counts`: every window of every key ({"key", "start", "end", "value"}) holds the
 *   count the input's timestamps give it (a tumbling 10 s window, closed by the flush records).
 */
export type Check = 'all-records' | 'latest-per-key' | 'window-counts';

/** The window of the `windowed-count` case, on both sides. */
export const WINDOW_MS = 10_000;

export interface PeerCase {
  /** The case's name in the table and in BENCH_ONLY, and its pipeline's name in the worker. */
  name: string;
  /** The Kafka Streams program it is compared with. */
  topology: Topology;
  check: Check;
  /** One line for the printed settings: what this Sluice pipeline does. */
  describe: string;
  sluice: (args: Record<string, string>) => PipelineDef;
}

const source = (args: Record<string, string>): Stream<Rec> =>
  Pipeline.create().readFrom<Rec>(Sources.kafka({ topic: args.input ?? '' }));

/** A running total of n per key: the same aggregate on both grouped cases. */
const totals = {
  name: 'total',
  init: () => 0,
  add: (total: number, r: Rec) => total + r.n,
};

/** A running total per key after `groupByKey()`: state on the source's partitions, no repartition. */
function keyAggregate(emit: Emit) {
  return (args: Record<string, string>): PipelineDef =>
    source(args)
      .groupByKey()
      .aggregate({ ...totals, emit })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
}

/** A running total per key after `groupingKey(r => r.k)`: through a repartition topic. */
function rekeyAggregate(emit: Emit) {
  return (args: Record<string, string>): PipelineDef =>
    source(args)
      .groupingKey((r) => r.k)
      .aggregate({ ...totals, emit })
      .writeTo(Sinks.kafka({ topic: args.output ?? '' }));
}

/** Every case, in the order the bench runs them. */
export const CASES: PeerCase[] = [
  {
    name: 'map',
    topology: 'map',
    check: 'all-records',
    describe: 'map (r) => ({ ...r, n2: r.n * 2 }), written keyed by r.k',
    sluice: (args) =>
      source(args)
        .map((r) => ({ ...r, n2: r.n * 2 }))
        .writeTo(Sinks.kafka<Rec>({ topic: args.output ?? '', key: (r) => r.k })),
  },
  {
    name: 'rekey-aggregate',
    topology: 'rekey-aggregate',
    check: 'latest-per-key',
    describe: 'groupingKey(r => r.k) + aggregate(total of n); every update emitted',
    sluice: rekeyAggregate('update'),
  },
  {
    name: 'key-aggregate',
    topology: 'key-aggregate',
    check: 'latest-per-key',
    describe: 'groupByKey() + aggregate(total of n), no repartition; every update emitted',
    sluice: keyAggregate('update'),
  },
  {
    name: 'rekey-aggregate-latest',
    topology: 'rekey-aggregate',
    check: 'latest-per-key',
    describe: "as rekey-aggregate, with emit: 'commit' (each key's latest value once per commit)",
    sluice: rekeyAggregate('commit'),
  },
  {
    name: 'key-aggregate-latest',
    topology: 'key-aggregate',
    check: 'latest-per-key',
    describe: "as key-aggregate, with emit: 'commit' (each key's latest value once per commit)",
    sluice: keyAggregate('commit'),
  },
  {
    name: 'windowed-count',
    topology: 'windowed-count',
    check: 'window-counts',
    describe:
      'groupByKey() + window(tumbling 10 s of the record timestamps).count(), emitted when each window closes',
    sluice: (args) =>
      source(args)
        .groupByKey()
        .window(Windows.tumbling({ sizeMs: WINDOW_MS }))
        .count({ name: 'total' })
        .writeTo(Sinks.kafka({ topic: args.output ?? '' })),
  },
  {
    // The table (args.table) holds an entry {"tier"} for every key, so the inner join has one
    // output per input; Kafka Streams joins a GlobalKTable, read whole by every instance.
    name: 'table-join',
    topology: 'table-join',
    check: 'all-records',
    describe:
      "joinTable(Tables.kafka({ topic: table }), key r => r.k) adding the entry's tier, written keyed by r.k",
    sluice: (args) =>
      source(args)
        .joinTable(Tables.kafka<{ tier: string }>({ topic: args.table ?? '' }), {
          name: 'customers',
          key: (r) => r.k,
          join: (r, c) => ({ ...r, tier: c.tier }),
        })
        .writeTo(Sinks.kafka<Rec>({ topic: args.output ?? '', key: (r) => r.k })),
  },
];

/** The worker's pipelines: each case's name to its factory. */
export default Object.fromEntries(CASES.map((c) => [c.name, c.sluice])) as Record<
  string,
  (args: Record<string, string>) => PipelineDef
>;
