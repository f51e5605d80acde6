import { SluiceError } from '../domain/errors.js';
import {
  branchStage,
  checkedPredicates,
  notInBranch,
  OTHERWISE,
  type RouteEnd,
  type RouteInput,
} from './branch.js';
import { checkedName, checkUniqueNames, retryable } from './checks.js';
import type { KafkaSinkDef } from './sinks.js';
import type { KafkaSourceDef } from './sources.js';
import { KeyedStream, recordKeyOf } from './keyed.js';
import {
  tableJoinStage,
  type KafkaTableDef,
  type LeftTableJoinOptions,
  type TableJoinOptions,
} from './join.js';
import {
  allStages,
  isStateful,
  type MaybePromise,
  type StageDef,
  type Retryable,
} from './stages.js';

/** A finished pipeline: a source, stages, its sinks. What workers run. */
export interface PipelineDef {
  source: KafkaSourceDef;
  stages: StageDef[];
  /**
   * Where it writes: one sink, or one per branch of its closing `branch` stage, whose
   * branches name theirs by index.
   */
  sinks: KafkaSinkDef[];
}

/** Optional stage name (derived from the kind and position when absent), and retryable errors. */
export interface StageOptions {
  name?: string;
  /** True for an error worth retrying under the job's error policy (docs/failure-handling.md). */
  retryable?: Retryable;
}

/** Options of {@link Stream.branch}: its name, and the default branch. */
export interface BranchOptions<T> extends StageOptions {
  /** The branch named `otherwise`, for items no predicate matched; without it they are dropped. */
  otherwise?: (stream: Stream<T>) => PipelineDef;
}

/** Inside a branch: its name, and a token its writeTo's result is marked with. */
interface Scope {
  route: string;
  token: object;
}

/** What each branch's stream ended with, by the branch it belongs to. */
const routeEnds = new WeakMap<PipelineDef, object>();

/**
 * Builds a pipeline, Jet style:
 *
 * ```ts
 * Pipeline.create()
 *   .readFrom(Sources.kafka({ topic: 'orders' }))
 *   .filter((o) => o.amount !== 0)
 *   .groupingKey((o) => o.customer)
 *   .aggregate({ name: 'totals', init: () => 0, add: (sum, o) => sum + o.amount })
 *   .writeTo(Sinks.kafka({ topic: 'totals' }));
 * ```
 */
export const Pipeline = {
  create(): { readFrom<T = unknown>(source: KafkaSourceDef): Stream<T> } {
    return { readFrom: <T>(source: KafkaSourceDef) => new Stream<T>(source, []) };
  },
};

export { KeyedStream };

/** A stream of values of type T, between a source and a sink. */
export class Stream<T> {
  constructor(
    private readonly source: KafkaSourceDef,
    private readonly stages: StageDef[],
    /** Set inside a branch, whose stages must be stateless and whose end is its branch's. */
    private readonly scope?: Scope,
  ) {}

  map<U>(fn: (value: T) => MaybePromise<U>, opts: StageOptions = {}): Stream<U> {
    return this.add<U>({
      kind: 'map',
      name: this.nameFor('map', opts),
      fn: fn as (v: unknown) => unknown,
      ...retryable(opts),
    });
  }

  filter(fn: (value: T) => MaybePromise<boolean>, opts: StageOptions = {}): Stream<T> {
    return this.add<T>({
      kind: 'filter',
      name: this.nameFor('filter', opts),
      fn: fn as (v: unknown) => MaybePromise<boolean>,
      ...retryable(opts),
    });
  }

  flatMap<U>(fn: (value: T) => MaybePromise<Iterable<U>>, opts: StageOptions = {}): Stream<U> {
    return this.add<U>({
      kind: 'flatMap',
      name: this.nameFor('flatMap', opts),
      fn: fn as (v: unknown) => MaybePromise<Iterable<unknown>>,
      ...retryable(opts),
    });
  }

  /**
   * Keys the stream for a stateful stage; state is kept per key. The values go through a
   * repartition topic keyed by it, so a key's values meet in one task whatever the source's
   * partitioning.
   */
  groupingKey(key: (value: T) => string | number): KeyedStream<T> {
    if (this.scope) throw notInBranch('groupingKey()', this.scope.route);
    return new KeyedStream<T>(
      (v) => String(key(v as T)),
      false,
      (stage) => this.add(stage),
      this.source,
    );
  }

  /**
   * Keys the stream by the Kafka key of each source record, which the source topic is
   * partitioned by: the stateful stage runs on the source's own partitions, with no repartition
   * topic (one write and one read fewer per record). As Kafka Streams' `groupByKey`, it relies on
   * the producer having partitioned the topic by that key, as Kafka's default partitioner does.
   * A record without a key fails in the stage, naming it. Only before any other stateful stage,
   * and on a single source topic (two topics' partitions are separate tasks).
   */
  groupByKey(): KeyedStream<T> {
    if (this.scope) throw notInBranch('groupByKey()', this.scope.route);
    if (this.stages.some(isStateful))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        "groupByKey() groups by the source record's key, so it must come before any other stateful stage; after one, use groupingKey((r) => r.key).",
      );
    if (this.source.topics.length !== 1)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `groupByKey() needs a single source topic (got ${this.source.topics.length}): each topic's partitions are separate tasks, so one key's records could land in two of them. Use groupingKey(...) to repartition them by key.`,
      );
    return new KeyedStream<T>(recordKeyOf, true, (stage) => this.add(stage));
  }

  /**
   * Joins each value with the table's entry of `key(value)`, as the table stands when the value
   * is processed; a value whose key the table lacks is dropped (inner join). Every task reads
   * the whole table, so the stream need not be keyed (docs/pipelines.md#jointable).
   */
  joinTable<V, U>(table: KafkaTableDef<V>, opts: TableJoinOptions<T, V, U>): Stream<U> {
    if (this.scope) throw notInBranch('joinTable()', this.scope.route);
    return this.add<U>(tableJoinStage(table, opts, true));
  }

  /** As {@link joinTable}, but a value whose key the table lacks is joined with null. */
  leftJoinTable<V, U>(table: KafkaTableDef<V>, opts: LeftTableJoinOptions<T, V, U>): Stream<U> {
    if (this.scope) throw notInBranch('leftJoinTable()', this.scope.route);
    return this.add<U>(tableJoinStage(table, opts, false));
  }

  /** Ends the pipeline (or, inside a branch, the branch) in a sink. */
  writeTo(sink: KafkaSinkDef): PipelineDef {
    const def: PipelineDef = { source: this.source, stages: [...this.stages], sinks: [sink] };
    if (this.scope) routeEnds.set(def, this.scope.token);
    else checkUniqueNames(allStages(def.stages));
    return def;
  }

  /**
   * Splits the stream into named branches, each ending in a sink of its own, and ends the
   * pipeline. An item goes to the first branch, in the order written, whose predicate holds;
   * with `otherwise`, items no predicate matched go there, else they are dropped (counted in
   * `sluice_job_records_unrouted_total`). Under EXACTLY_ONCE every sink's records commit in the
   * task's one transaction. A branch's stages must be stateless: put stateful ones before.
   *
   * ```ts
   * stream.branch(
   *   { refunds: (o) => o.amount < 0, sales: (o) => o.amount > 0 },
   *   {
   *     refunds: (s) => s.map((o) => ({ ...o, amount: -o.amount })).writeTo(refundsSink),
   *     sales: (s) => s.writeTo(salesSink),
   *   },
   * );
   * ```
   */
  branch<K extends string>(
    predicates: Record<K, (value: T) => MaybePromise<boolean>>,
    routes: NoInfer<{ [R in K]: (stream: Stream<T>) => PipelineDef }>,
    opts: BranchOptions<T> = {},
  ): PipelineDef {
    if (this.scope) throw notInBranch('branch()', this.scope.route);
    const name = this.nameFor('branch', opts);
    const given = (routes ?? {}) as Record<string, unknown>;
    const inputs: RouteInput[] = checkedPredicates(name, predicates).map(([route, predicate]) => ({
      name: route,
      predicate,
      end: this.follow(name, route, given[route]),
    }));
    for (const route of Object.keys(given))
      if (!inputs.some((r) => r.name === route))
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `branch "${name}": branch "${route}" has a sink but no predicate; add one, or remove it.`,
        );
    if (opts.otherwise !== undefined)
      inputs.push({
        name: OTHERWISE,
        predicate: undefined,
        end: this.follow(name, OTHERWISE, opts.otherwise),
      });
    const { stage, sinks } = branchStage(name, inputs, retryable(opts));
    const stages = [...this.stages, stage];
    checkUniqueNames(allStages(stages));
    return { source: this.source, stages, sinks };
  }

  /** Builds one branch on a stream of its own and checks it ended in its own writeTo. */
  private follow(branch: string, route: string, build: unknown): RouteEnd {
    if (typeof build !== 'function')
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `branch "${branch}": branch "${route}" needs a function (stream) => stream.writeTo(sink) in the second argument.`,
      );
    const token = {};
    const end = (build as (s: Stream<T>) => unknown)(
      new Stream<T>(this.source, [], { route, token }),
    );
    if (typeof end !== 'object' || end === null || routeEnds.get(end as PipelineDef) !== token)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `branch "${branch}": branch "${route}" must return what its own stream's writeTo(sink) returns.`,
      );
    return end as PipelineDef;
  }

  private add<U>(stage: StageDef): Stream<U> {
    return new Stream<U>(this.source, [...this.stages, stage], this.scope);
  }

  private nameFor(kind: string, opts: StageOptions): string {
    if (opts.name !== undefined) return checkedName(opts.name);
    // Inside a branch, prefixed by it: `refunds.map-1` cannot collide with the stream's `map-1`.
    const own = `${kind}-${this.stages.length + 1}`;
    return this.scope ? `${this.scope.route}.${own}` : own;
  }
}
