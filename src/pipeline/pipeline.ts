import { isValidName } from '../domain/config.js';
import { SluiceError } from '../domain/errors.js';
import type { KafkaSinkDef } from './sinks.js';
import type { KafkaSourceDef } from './sources.js';
import type { Keyed, MaybePromise, StageDef } from './stages.js';

/** A finished pipeline: a source, stages, a sink. What workers run. */
export interface PipelineDef {
  source: KafkaSourceDef;
  stages: StageDef[];
  sink: KafkaSinkDef;
}

/** Optional stage name; derived from the kind and position when absent. */
export interface StageOptions {
  name?: string;
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
    });
  }

  filter(fn: (value: T) => MaybePromise<boolean>, opts: StageOptions = {}): Stream<T> {
    return this.add<T>({
      kind: 'filter',
      name: this.nameFor('filter', opts),
      fn: fn as (v: unknown) => MaybePromise<boolean>,
    });
  }

  flatMap<U>(fn: (value: T) => MaybePromise<Iterable<U>>, opts: StageOptions = {}): Stream<U> {
    return this.add<U>({
      kind: 'flatMap',
      name: this.nameFor('flatMap', opts),
      fn: fn as (v: unknown) => MaybePromise<Iterable<unknown>>,
    });
  }

  /** Keys the stream for a stateful stage; state is kept per key. */
  groupingKey(key: (value: T) => string | number): KeyedStream<T> {
    return new KeyedStream<T>(
      (v) => String(key(v as T)),
      (stage) => this.add(stage),
    );
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

/** A keyed stream: the next stage keeps state per key. */
export class KeyedStream<T> {
  constructor(
    private readonly key: (value: unknown) => string,
    private readonly push: (stage: StageDef) => Stream<unknown>,
  ) {}

  /** Folds each key's values into a state and emits `{ key, value }` on every update. */
  aggregate<S>(opts: {
    name: string;
    init: () => S;
    add: (state: S, value: T) => MaybePromise<S>;
  }): Stream<Keyed<S>> {
    return this.push({
      kind: 'aggregate',
      name: checkedName(opts.name),
      key: this.key,
      init: opts.init,
      add: opts.add as (s: unknown, v: unknown) => MaybePromise<unknown>,
    }) as Stream<Keyed<S>>;
  }

  /** Maps each value with its key's state; `fn` returns the new state and the output (undefined for none). */
  mapWithState<S, U>(opts: {
    name: string;
    init: () => S;
    fn: (state: S, value: T, key: string) => MaybePromise<[S, U | undefined]>;
  }): Stream<U> {
    return this.push({
      kind: 'mapWithState',
      name: checkedName(opts.name),
      key: this.key,
      init: opts.init,
      fn: opts.fn as (s: unknown, v: unknown, k: string) => MaybePromise<[unknown, unknown]>,
    }) as Stream<U>;
  }
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
