import { isValidName } from '../domain/config.js';
import { SluiceError } from '../domain/errors.js';
import type { KafkaSinkDef } from './sinks.js';
import type { KafkaSourceDef } from './sources.js';
import {
  EMITS,
  isStateful,
  type Emit,
  type Keyed,
  type MaybePromise,
  type StageDef,
  type Retryable,
  type StageKey,
} from './stages.js';

/** A finished pipeline: a source, stages, a sink. What workers run. */
export interface PipelineDef {
  source: KafkaSourceDef;
  stages: StageDef[];
  sink: KafkaSinkDef;
}

/** Optional stage name (derived from the kind and position when absent), and retryable errors. */
export interface StageOptions {
  name?: string;
  /** True for an error worth retrying under the job's error policy (docs/failure-handling.md). */
  retryable?: Retryable;
}

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

/** A stream of values of type T, between a source and a sink. */
export class Stream<T> {
  constructor(
    private readonly source: KafkaSourceDef,
    private readonly stages: StageDef[],
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
    return new KeyedStream<T>(
      (v) => String(key(v as T)),
      false,
      (stage) => this.add(stage),
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

  writeTo(sink: KafkaSinkDef): PipelineDef {
    const names = new Set<string>();
    for (const s of this.stages) {
      if (names.has(s.name))
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `Two stages are named "${s.name}"; stage names must be unique in a pipeline.`,
        );
      names.add(s.name);
    }
    return { source: this.source, stages: [...this.stages], sink };
  }

  private add<U>(stage: StageDef): Stream<U> {
    return new Stream<U>(this.source, [...this.stages, stage]);
  }

  private nameFor(kind: string, opts: StageOptions): string {
    if (opts.name === undefined) return `${kind}-${this.stages.length + 1}`;
    return checkedName(opts.name);
  }
}

/** The key `groupByKey` groups by: the source record's, which must have one. */
const recordKeyOf: StageKey = (_value, recordKey) => {
  if (recordKey === null)
    throw new Error(
      'groupByKey(): the source record has no key. Key the records when producing them, or group with groupingKey(...).',
    );
  return recordKey;
};

/** A keyed stream: the next stage keeps state per key. */
export class KeyedStream<T> {
  constructor(
    private readonly key: StageKey,
    private readonly byRecordKey: boolean,
    private readonly push: (stage: StageDef) => Stream<unknown>,
  ) {}

  /**
   * Folds each key's values into a state and emits `{ key, value }`. `emit: 'update'` (the
   * default) emits on every update; `emit: 'commit'` emits each updated key's latest value once
   * per commit, which is what a reader of a compacted output or a table needs, for far fewer
   * writes (Kafka Streams' record cache does the same). Under EXACTLY_ONCE a reader sees the
   * same committed values either way, only fewer of the intermediate ones.
   */
  aggregate<S>(opts: {
    name: string;
    init: () => S;
    add: (state: S, value: T) => MaybePromise<S>;
    emit?: Emit;
    retryable?: Retryable;
  }): Stream<Keyed<S>> {
    const emit = opts.emit ?? 'update';
    if (!EMITS.includes(emit))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `aggregate "${String(opts.name)}": emit must be one of ${EMITS.map((e) => `'${e}'`).join(', ')}, not ${JSON.stringify(emit)}.`,
      );
    return this.push({
      kind: 'aggregate',
      name: checkedName(opts.name),
      key: this.key,
      byRecordKey: this.byRecordKey,
      init: opts.init,
      add: opts.add as (s: unknown, v: unknown) => MaybePromise<unknown>,
      emit,
      ...retryable(opts),
    }) as Stream<Keyed<S>>;
  }

  /** Maps each value with its key's state; `fn` returns the new state and the output (undefined for none). */
  mapWithState<S, U>(opts: {
    name: string;
    init: () => S;
    fn: (state: S, value: T, key: string) => MaybePromise<[S, U | undefined]>;
    retryable?: Retryable;
  }): Stream<U> {
    return this.push({
      kind: 'mapWithState',
      name: checkedName(opts.name),
      key: this.key,
      byRecordKey: this.byRecordKey,
      init: opts.init,
      fn: opts.fn as (s: unknown, v: unknown, k: string) => MaybePromise<[unknown, unknown]>,
      ...retryable(opts),
    }) as Stream<U>;
  }
}

/** The stage's predicate, checked: a typo like `retryable: true` is named, not ignored. */
function retryable(opts: { retryable?: Retryable }): { retryable?: Retryable } {
  if (opts.retryable === undefined) return {};
  if (typeof opts.retryable !== 'function')
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `A stage's retryable must be a function (err) => boolean, not ${JSON.stringify(opts.retryable)}. Name retryable errors in the job's errorPolicy.retry.on instead.`,
    );
  return { retryable: opts.retryable };
}

function checkedName(name: string): string {
  if (typeof name !== 'string' || !isValidName(name)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `Stage name "${String(name)}" must be letters, digits, ".", "_" or "-"; it names the stage's state topic.`,
    );
  }
  return name;
}
